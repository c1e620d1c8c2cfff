"""Zip archives of stored objects, written into storage with constant memory.

The archive is produced by ``zipfile`` in this thread and consumed by ``storage.save()`` in
a helper thread through an ``os.pipe()``: the kernel's pipe buffer (64 KiB) is the only
hand-over buffer, and each side blocks while the other catches up. ``storage.save`` is the
one write path every Django storage implements: ``FileSystemStorage`` streams ``chunks()``
into the file; ``S3Storage`` hands the forward-only reader to boto3's non-seekable multipart
upload, whose buffers are bounded by the storage's ``TransferConfig`` and which commits
nothing until the last part, so a failed archive never appears in the bucket.
"""

import contextlib
import fcntl
import os
import re
import threading
import unicodedata
import uuid
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, default_storage

from images.storage import open_stream

MAX_NAME_CHARS = 150
# Most filesystems cap one path component at 255 bytes; 150 CJK characters would be 450.
MAX_NAME_BYTES = 240
# zipfile itself switches an entry to zip64 above ZIP64_LIMIT / 1.05; deciding here, with a
# margin, lets a size hint that is larger than the stored object force zip64 too.
ZIP64_ENTRY_THRESHOLD = zipfile.ZIP64_LIMIT // 2

_WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{stem}{n}" for stem in ("COM", "LPT") for n in [*"123456789", "¹", "²", "³"]]
)
_EXTENSION = re.compile(r"\.[^.\s]{1,16}$")


class ArchiveSourceMissing(Exception):
    def __init__(self, key: str):
        super().__init__(f"source object {key!r} does not exist; no archive was written")
        self.key = key


@dataclass
class ArchiveEntry:
    name: str  # already sanitised (sanitise_entry_names)
    key: str  # storage key of the source object
    size: int | None = None  # a hint; at or above ZIP64_ENTRY_THRESHOLD it forces zip64
    modified: datetime | None = None


def _clean_one(name: str) -> str:
    text = unicodedata.normalize("NFC", name)
    text = re.sub(r"\s+", " ", text)  # tabs, newlines, NBSP, U+2028 … become one space
    # Cc: C0, DEL, C1, NUL. Cf: bidi overrides (U+202E) and zero-width characters that
    # disguise an extension. Cs: lone surrogates, which cannot even be encoded as UTF-8.
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Cs"))
    parts = [p for p in re.split(r"[/\\]", text) if p.strip(" .")]
    text = parts[-1] if parts else ""
    text = re.sub(r'[<>:"|?*]', "_", text)  # not allowed in a Windows file name
    text = re.sub(r"\.{2,}", ".", text)
    text = re.sub(r" {2,}", " ", text)
    # Leading dots hide files; Windows drops trailing dots and spaces (then names collide).
    text = text.strip(" .")
    first, dot, rest = text.partition(".")
    if first.rstrip(" ").upper() in _WINDOWS_RESERVED:
        text = f"{first}_{dot}{rest}"
    return text or "image"


def _split_extension(name: str) -> tuple[str, str]:
    match = _EXTENSION.search(name)
    if not match or match.start() == 0:
        return name, ""
    return name[: match.start()], match.group()


def _fit(stem: str, extension: str, suffix: str = "") -> str:
    """``stem + suffix + extension`` within the caps, shortening the stem only."""

    def fits(text: str) -> bool:
        return len(text) <= MAX_NAME_CHARS and len(text.encode()) <= MAX_NAME_BYTES

    while stem and not fits(stem + suffix + extension):
        stem = stem[:-1]
    stem = stem.rstrip(" .") or "image"
    return stem + suffix + extension


def sanitise_entry_names(names: list[str]) -> list[str]:
    """Safe, unique (case-insensitively), non-empty archive entry names, in input order.

    Deterministic and idempotent: a sanitised list sanitises to itself.
    """
    used: set[str] = set()
    next_number: dict[str, int] = {}
    result = []
    for raw in names:
        stem, extension = _split_extension(_clean_one(raw))
        name = _fit(stem, extension)
        if name.casefold() in used:
            base = name.casefold()
            number = next_number.get(base, 2)
            while (name := _fit(stem, extension, f" ({number})")).casefold() in used:
                number += 1
            next_number[base] = number + 1
        used.add(name.casefold())
        result.append(name)
    return result


class _ArchiveAborted(Exception):
    """Raised inside storage.save() so that it fails instead of saving a truncated zip."""


class _PipeFile(File):
    """The read end of the pipe as a forward-only django File, read with file semantics
    (``read(n)`` returns n bytes unless the archive ended), which boto3 relies on."""

    def __init__(self, fd: int, chunk_size: int):
        super().__init__(os.fdopen(fd, "rb"), name="archive.zip")
        self.chunk_size = chunk_size
        self.aborted = False  # set by the writer before it closes its end

    @property
    def size(self):
        return None  # unknown until the end; no backend needs it to save

    def read(self, size: int | None = -1) -> bytes:
        data = self.file.read(-1 if size is None else size)
        if self.aborted and (size is None or size < 0 or len(data) < size):
            raise _ArchiveAborted
        return data

    def chunks(self, chunk_size=None) -> Iterator[bytes]:
        while data := self.read(chunk_size or self.chunk_size):
            yield data

    def multiple_chunks(self, chunk_size=None) -> bool:
        return True

    def seekable(self) -> bool:
        return False  # keeps storage.save() from rewinding and boto3 on its streaming path


class _CountingWriter:
    """The write end of the pipe. No tell()/seek(): zipfile then writes data descriptors
    instead of seeking back to patch sizes and CRCs into local headers."""

    def __init__(self, fd: int):
        self.file = os.fdopen(fd, "wb")
        self.count = 0
        self.discard = False  # after a failure: let zipfile finish (or __del__) into nothing

    def write(self, data) -> int:
        if self.discard:
            return len(data)
        self.file.write(data)
        self.count += len(data)
        return len(data)

    def flush(self) -> None:
        self.file.flush()


def _open_source(storage: Storage, key: str) -> tuple[BinaryIO, int | None]:
    try:
        return open_stream(key, storage)
    except FileNotFoundError:
        raise ArchiveSourceMissing(key) from None


def _zip_info(entry: ArchiveEntry, size: int | None, now: datetime) -> tuple[zipfile.ZipInfo, bool]:
    when = entry.modified or now
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    # The DOS timestamp in a zip cannot express years outside 1980-2107.
    when = min(max(when.replace(tzinfo=None), datetime(1980, 1, 1)), datetime(2107, 12, 31))
    info = zipfile.ZipInfo(entry.name, date_time=when.timetuple()[:6])
    info.compress_type = zipfile.ZIP_STORED  # images are already compressed
    info.external_attr = 0o644 << 16  # rw-r--r-- once extracted (zipfile defaults to 0600)
    hints = [s for s in (entry.size, size) if s is not None]
    # A data descriptor's width is fixed when the header is written: an entry that may
    # reach 4 GiB must be zip64 up front, including one whose size nobody knows.
    force_zip64 = not hints or max(hints) >= ZIP64_ENTRY_THRESHOLD
    info.file_size = size if size is not None else max(hints, default=0)
    return info, force_zip64


def _write_entries(
    archive: zipfile.ZipFile, entries: Iterable[ArchiveEntry], storage: Storage, chunk_size: int
) -> None:
    seen: set[str] = set()
    now = datetime.now(UTC)
    for entry in entries:
        if sanitise_entry_names([entry.name]) != [entry.name] or entry.name.casefold() in seen:
            raise ValueError(f"archive entry name {entry.name!r} is not sanitised or unique")
        seen.add(entry.name.casefold())
        # Opened before the entry's header is written: a missing object is found before
        # any of its bytes would be.
        source, size = _open_source(storage, entry.key)
        try:
            info, force_zip64 = _zip_info(entry, size, now)
            with archive.open(info, "w", force_zip64=force_zip64) as target:
                while chunk := source.read(chunk_size):  # zipfile computes the CRC32 here
                    target.write(chunk)
        finally:
            source.close()


def _write_local(
    target_key: str, entries: Iterable[ArchiveEntry], storage: FileSystemStorage, chunk_size: int
) -> int:
    """Local storage needs no pipe: the zip is written beside its final name and renamed
    into place, so a reader never sees a partial archive and no thread hand-over is paid.
    The file is seekable, so sizes go into the local headers (no data descriptors)."""
    path = Path(storage.path(target_key))
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    try:
        with open(partial, "wb") as handle:
            with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive:
                _write_entries(archive, entries, storage, chunk_size)
            size = handle.tell()
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        # As on the streaming path: after a failure no archive is left under the key.
        path.unlink(missing_ok=True)
        raise
    return size


def write_archive(
    target_key: str,
    entries: Iterable[ArchiveEntry],
    *,
    storage: Storage = default_storage,
    chunk_size: int = 1024 * 1024,
) -> int:
    """Write a stored (uncompressed) zip of ``entries`` to ``target_key``; return its size.

    On any failure the object at ``target_key`` is deleted and the error re-raised; a
    missing source raises ``ArchiveSourceMissing``. ``storage`` must overwrite on save
    (``allow_overwrite`` / ``file_overwrite``), as the product's storages do.
    """
    if chunk_size < 1:
        raise ValueError("chunk_size must be at least 1 byte")
    # Plain local storage takes the direct path; a storage that customises _save (or any
    # remote one) gets its own save, fed through the pipe.
    if (
        isinstance(storage, FileSystemStorage)
        and storage.__class__._save is FileSystemStorage._save
    ):
        return _write_local(target_key, entries, storage, chunk_size)
    read_fd, write_fd = os.pipe()
    # The default 64 KiB pipe costs a context switch per 64 KiB; a 1 MiB pipe (the
    # unprivileged maximum on Linux) cuts the hand-overs twentyfold.
    with contextlib.suppress(OSError, AttributeError):
        fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, 1024 * 1024)
    reader = _PipeFile(read_fd, chunk_size)
    writer = _CountingWriter(write_fd)
    archive = zipfile.ZipFile(writer, "w", compression=zipfile.ZIP_STORED)
    saved: list[str] = []
    save_errors: list[BaseException] = []

    def save() -> None:
        try:
            saved.append(storage.save(target_key, reader))
        except BaseException as error:  # handed to the writing thread, which re-raises it
            save_errors.append(error)
        finally:
            # Closing the read end turns a blocked writer's write() into BrokenPipeError
            # when the save fails early, instead of a deadlock.
            reader.file.close()

    thread = threading.Thread(target=save, name=f"write_archive {target_key}", daemon=True)
    thread.start()
    failure: BaseException | None = None
    try:
        _write_entries(archive, entries, storage, chunk_size)
        archive.close()  # central directory; zip64 end records when they are needed
    except BaseException as error:
        failure = error
        reader.aborted = True  # set before EOF can be seen, so the save fails, not commits
        writer.discard = True
        with contextlib.suppress(Exception):
            archive.close()  # now, rather than a noisy ZipFile.__del__ later
    finally:
        with contextlib.suppress(BrokenPipeError):  # the save failed; reported below
            writer.file.close()  # EOF for storage.save()
        thread.join()
    if save_errors and (failure is None or isinstance(failure, BrokenPipeError)):
        failure = save_errors[0]  # the pipe broke because the save failed: report why
    if failure is None and saved != [target_key]:
        failure = ValueError(f"storage saved the archive as {saved!r}, not {target_key!r}")
    if failure is not None:
        with contextlib.suppress(FileNotFoundError):
            storage.delete(saved[0] if saved else target_key)
        raise failure
    return writer.count
