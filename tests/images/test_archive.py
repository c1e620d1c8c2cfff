"""Zip archives for bulk downloads: entry names, bytes, zip64, failures and memory, on a local
folder and on moto's S3 server (started here, on 127.0.0.1)."""

import io
import random
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import tracemalloc
import unicodedata
import uuid
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import boto3
import pytest
from boto3.s3.transfer import TransferConfig
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from storages.backends.s3 import S3Storage

from images.downloads import archive as archive_module
from images.downloads.archive import (
    ArchiveEntry,
    ArchiveSourceMissing,
    sanitise_entry_names,
    write_archive,
)

MIB = 1024 * 1024
UNZIP = shutil.which("unzip")


def random_bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def put(storage, key: str, data: bytes) -> str:
    assert storage.save(key, ContentFile(data)) == key
    return key


def read_back(storage, key: str) -> tuple[zipfile.ZipFile, bytes]:
    with storage.open(key, "rb") as stored:
        raw = stored.read()
    return zipfile.ZipFile(io.BytesIO(raw)), raw


def archive_peak(storage, entries: list[ArchiveEntry], key: str = "downloads/m.zip") -> int:
    """Peak of Python allocations (every thread) while ``entries`` are archived."""
    tracemalloc.start()
    try:
        write_archive(key, entries, storage=storage)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture
def storage(tmp_path):
    return FileSystemStorage(location=tmp_path / "storage", allow_overwrite=True)


# --- entries and bytes ---------------------------------------------------------------------


def test_every_entry_reads_back_byte_for_byte_stored_without_recompression(storage):
    contents = {
        "photo.jpg": random_bytes(1, 150_000),
        "empty.png": b"",
        "large.webp": random_bytes(2, 3 * MIB),
        "été 日本.avif": random_bytes(3, 10_000),
    }
    entries = [
        ArchiveEntry(name, put(storage, f"originals/{i}", data), size=len(data))
        for i, (name, data) in enumerate(contents.items())
    ]

    size = write_archive("downloads/job-1.zip", entries, storage=storage)

    archive, raw = read_back(storage, "downloads/job-1.zip")
    assert size == len(raw) == storage.size("downloads/job-1.zip")
    assert archive.testzip() is None
    assert archive.namelist() == list(contents)
    for info in archive.infolist():
        assert info.compress_type == zipfile.ZIP_STORED
        assert info.compress_size == info.file_size
        assert archive.read(info) == contents[info.filename]
    assert archive.getinfo("été 日本.avif").flag_bits & 0x800  # UTF-8 name flag


def test_entry_times_are_written_in_utc_and_clamped_to_what_a_zip_can_hold(storage):
    source = put(storage, "originals/a", b"abc")
    paris = datetime(2024, 5, 6, 7, 8, 10, tzinfo=ZoneInfo("Europe/Paris"))
    entries = [
        ArchiveEntry("paris.jpg", source, modified=paris),
        ArchiveEntry("old.jpg", source, modified=datetime(1970, 1, 1, tzinfo=UTC)),
    ]

    write_archive("downloads/times.zip", entries, storage=storage)

    archive, _ = read_back(storage, "downloads/times.zip")
    assert archive.getinfo("paris.jpg").date_time == (2024, 5, 6, 5, 8, 10)
    assert archive.getinfo("old.jpg").date_time == (1980, 1, 1, 0, 0, 0)


def test_the_default_storage_is_used_when_none_is_given(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path), "allow_overwrite": True},
        },
    }
    put(default_storage, "originals/a", b"abc")

    write_archive("downloads/a.zip", [ArchiveEntry("a.jpg", "originals/a")])

    with zipfile.ZipFile(tmp_path / "downloads" / "a.zip") as archive:
        assert archive.read("a.jpg") == b"abc"


# --- names ---------------------------------------------------------------------------------

HOSTILE = [
    ("../../etc/passwd", "passwd"),
    ("C:\\Windows\\x.png", "x.png"),
    ("/absolute/path/photo.jpg", "photo.jpg"),
    ("photos/", "photos"),
    ("a\x00b.jpg", "ab.jpg"),
    ("x\x7f\x9f.png", "x.png"),
    ("\u202egnp.exe", "gnp.exe"),
    ("photo.jpg\u200b", "photo.jpg"),
    ("   ", "image"),
    ("", "image"),
    ("..", "image"),
    (".htaccess", "htaccess"),
    ("...hidden..jpg", "hidden.jpg"),
    ("name.jpg. . ", "name.jpg"),
    ("CON.jpg", "CON_.jpg"),
    ("nul", "nul_"),
    ("com1.tar.gz", "com1_.tar.gz"),
    ("LPT9 .png", "LPT9 _.png"),
    ("what?*<>.jpg", "what____.jpg"),
    ("photo\t\n  of\u00a0me.jpg", "photo of me.jpg"),
    ("\x85 name.png", "name.png"),
    ("Zoë 北京 фото.jpg", "Zoë 北京 фото.jpg"),
    ("e\u0301te.jpg", "\u00e9te.jpg"),  # NFC, so duplicates compare as the reader sees them
    ("bad\ud800.jpg", "bad.jpg"),  # a lone surrogate cannot be encoded as UTF-8 at all
]
EVERY_HOSTILE_NAME = [raw for raw, _ in HOSTILE] + ["A.JPG", "a.jpg", "x" * 300, "y" * 300]


@pytest.mark.parametrize(("raw", "expected"), HOSTILE)
def test_a_hostile_name_becomes_a_safe_name(raw, expected):
    assert sanitise_entry_names([raw]) == [expected]


def test_hostile_names_become_unique_non_empty_names_without_paths():
    names = sanitise_entry_names(EVERY_HOSTILE_NAME)

    assert len(names) == len(EVERY_HOSTILE_NAME)
    assert len({name.casefold() for name in names}) == len(names)
    for name in names:
        assert name and len(name) <= 150
        assert "/" not in name and "\\" not in name and ".." not in name
        assert not name.startswith((".", " ")) and not name.endswith((".", " "))
        assert not any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in name)


def test_case_insensitive_duplicates_get_numbered_suffixes_before_the_extension():
    names = ["a.jpg", "A.JPG", "a.jpg", "b", "B", "../a.jpg"]

    assert sanitise_entry_names(names) == [
        "a.jpg",
        "A (2).JPG",
        "a (3).jpg",
        "b",
        "B (2)",
        "a (4).jpg",
    ]


def test_a_suffix_never_takes_the_name_of_a_later_file():
    assert sanitise_entry_names(["a.jpg", "a.jpg", "a (2).jpg"]) == [
        "a.jpg",
        "a (2).jpg",
        "a (2) (2).jpg",
    ]


def test_a_long_name_is_capped_keeping_its_extension():
    latin, cjk, again, twice = sanitise_entry_names(
        ["x" * 300 + ".jpeg", "日" * 300 + ".png", "x" * 300 + ".jpeg", "x" * 299 + ".JPEG"]
    )

    assert len(latin) == 150 and latin.endswith("x.jpeg")
    # 150 three-byte characters would overflow a filesystem's 255-byte name limit.
    assert len(cjk.encode()) <= 240 and cjk.endswith("日.png")
    assert len(again) == 150 and again.endswith("x (2).jpeg")
    assert len(twice) == 150 and twice.endswith("x (3).JPEG")


def test_sanitising_is_deterministic_and_idempotent():
    names = sanitise_entry_names(EVERY_HOSTILE_NAME)

    assert sanitise_entry_names(EVERY_HOSTILE_NAME) == names
    assert sanitise_entry_names(names) == names


def test_an_archive_of_hostile_names_holds_no_paths(storage, tmp_path):
    source = put(storage, "originals/a", b"abc")
    names = sanitise_entry_names(EVERY_HOSTILE_NAME)

    write_archive("downloads/h.zip", [ArchiveEntry(n, source) for n in names], storage=storage)

    archive, _ = read_back(storage, "downloads/h.zip")
    assert archive.namelist() == names
    if UNZIP:  # an extractor that trusts the names: everything lands in the target folder
        target = tmp_path / "extracted"
        archive_path = storage.path("downloads/h.zip")
        subprocess.run([UNZIP, "-q", archive_path, "-d", str(target)], check=True)
        # Counted, not compared: how unzip spells non-ASCII names depends on the locale.
        assert len(list(target.iterdir())) == len(names)
        assert all(p.is_file() for p in target.iterdir())
        assert sorted(p.name for p in tmp_path.iterdir()) == ["extracted", "storage"]


def test_an_unsanitised_or_duplicate_entry_name_is_refused_and_nothing_is_stored(storage):
    source = put(storage, "originals/a", b"abc")

    for names in (["../x.jpg"], ["a.jpg", "A.jpg"], ["CON.jpg"]):
        entries = [ArchiveEntry(name, source) for name in names]
        with pytest.raises(ValueError, match="not sanitised or unique"):
            write_archive("downloads/bad.zip", entries, storage=storage)
        assert not storage.exists("downloads/bad.zip")


# --- zip64 ---------------------------------------------------------------------------------


def local_header(raw: bytes, info: zipfile.ZipInfo) -> tuple[list[int], int]:
    """The extra-field ids of an entry's local header, and where its data ends."""
    signature, name_length, extra_length = struct.unpack_from("<4s22xHH", raw, info.header_offset)
    assert signature == b"PK\x03\x04"
    start = info.header_offset + 30 + name_length
    extra, ids = raw[start : start + extra_length], []
    while extra:
        header_id, length = struct.unpack_from("<HH", extra)
        ids.append(header_id)
        extra = extra[4 + length :]
    return ids, start + extra_length + info.compress_size


def test_an_entry_that_may_reach_4_gib_is_written_as_zip64_and_reads_back(storage, monkeypatch):
    # Writing 4 GiB is out of the question; lowering the threshold takes the same code path.
    monkeypatch.setattr(archive_module, "ZIP64_ENTRY_THRESHOLD", 64 * 1024)
    big, small, hinted = random_bytes(5, 100_000), b"small", b"hinted"
    entries = [
        ArchiveEntry("big.jpg", put(storage, "originals/big", big)),
        ArchiveEntry("small.jpg", put(storage, "originals/small", small)),
        # The stored object is small, but a size hint at the threshold forces zip64 too.
        ArchiveEntry("hinted.jpg", put(storage, "originals/hinted", hinted), size=5 * 2**30),
    ]

    write_archive("downloads/z.zip", entries, storage=storage)

    archive, raw = read_back(storage, "downloads/z.zip")
    assert archive.testzip() is None
    assert [archive.read(n) for n in ("big.jpg", "small.jpg", "hinted.jpg")] == [
        big,
        small,
        hinted,
    ]
    for name, zip64 in (("big.jpg", True), ("small.jpg", False), ("hinted.jpg", True)):
        info = archive.getinfo(name)
        extra_ids, _ = local_header(raw, info)
        assert (0x0001 in extra_ids) is zip64, name  # the zip64 extended information field
    if UNZIP:
        checked = subprocess.run(
            [UNZIP, "-t", str(storage.path("downloads/z.zip"))], capture_output=True, text=True
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_more_than_65535_entries_get_zip64_end_records(storage):
    # 65 536 entries of one empty object: the count, not the bytes, needs zip64 here.
    source = put(storage, "originals/empty", b"")
    entries = (ArchiveEntry(f"{i}.jpg", source) for i in range(65_536))

    write_archive("downloads/many.zip", entries, storage=storage)

    archive, raw = read_back(storage, "downloads/many.zip")
    assert len(archive.infolist()) == 65_536
    assert archive.namelist()[-1] == "65535.jpg"
    tail = raw[-200:]
    assert b"PK\x06\x06" in tail and b"PK\x06\x07" in tail  # zip64 end record and locator
    # The classic end record says "see zip64" with its 16-bit count at 0xFFFF.
    assert struct.unpack_from("<4s6xH", raw, len(raw) - 22) == (b"PK\x05\x06", 0xFFFF)


# --- failures ------------------------------------------------------------------------------


def test_a_missing_source_raises_and_leaves_no_archive_object(storage):
    present = put(storage, "originals/present", random_bytes(6, 3 * MIB))
    write_archive("downloads/job.zip", [ArchiveEntry("a.jpg", present)], storage=storage)
    entries = [
        ArchiveEntry("a.jpg", present),  # 3 MiB already streamed into the file
        ArchiveEntry("b.jpg", "originals/gone"),
        ArchiveEntry("c.jpg", present),
    ]

    with pytest.raises(ArchiveSourceMissing) as raised:
        write_archive("downloads/job.zip", entries, storage=storage)

    assert raised.value.key == "originals/gone"
    assert "originals/gone" in str(raised.value)
    assert not storage.exists("downloads/job.zip")


def test_a_failing_save_is_reported_without_hanging_and_leaves_nothing(tmp_path):
    class FullDisk(FileSystemStorage):
        def _save(self, name, content):
            if not name.startswith("downloads/"):
                return super()._save(name, content)
            path = Path(self.path(name))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content.read(MIB))  # a partial archive, as a real failure leaves
            raise OSError("No space left on device")

    storage = FullDisk(location=tmp_path, allow_overwrite=True)
    # Several MiB, so the writer is blocked on the pipe when the save gives up.
    source = put(storage, "originals/a", random_bytes(7, 3 * MIB))
    entries = [ArchiveEntry(f"{i}.jpg", source) for i in range(3)]

    with pytest.raises(OSError, match="No space left"):
        write_archive("downloads/full.zip", entries, storage=storage)

    assert not storage.exists("downloads/full.zip")
    assert not [t for t in threading.enumerate() if t.name.startswith("write_archive")]


# --- memory --------------------------------------------------------------------------------


def test_memory_stays_flat_however_large_the_archive(storage):
    # Every entry reads the same 2 MiB object: the same open-read-close path as distinct
    # objects, without writing 80 MiB of sources first.
    source = put(storage, "originals/2mib", random_bytes(8, 2 * MIB))

    def entries(count):
        return [ArchiveEntry(f"{i}.jpg", source) for i in range(count)]

    archive_peak(storage, entries(1))  # first use: imports, caches
    small = archive_peak(storage, entries(5))
    large = archive_peak(storage, entries(40))

    assert storage.size("downloads/m.zip") > 80 * MIB
    assert large - small < 2 * MIB, (small, large)
    assert large < 8 * MIB, large


# --- S3 (moto_server on 127.0.0.1) -----------------------------------------------------------


def wait_for_port(server: subprocess.Popen, port: int, deadline_seconds: float = 30) -> None:
    deadline = time.monotonic() + deadline_seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"moto_server did not listen within {deadline_seconds} s"
                ) from None
        try:
            server.wait(timeout=0.05)  # the pause between attempts; returns only if it died
        except subprocess.TimeoutExpired:
            continue
        raise AssertionError(f"moto_server exited with status {server.returncode}")


@pytest.fixture(scope="module")
def moto_endpoint(tmp_path_factory):
    executable = Path(sys.executable).with_name("moto_server")
    assert executable.exists(), "moto_server is not installed (pip install '.[dev]')"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [str(executable), "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(server, port)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def transfer_config(part_mib: int, parts_in_memory: int, threads: int) -> TransferConfig:
    config = TransferConfig(
        multipart_threshold=part_mib * MIB,
        multipart_chunksize=part_mib * MIB,
        max_concurrency=threads,
    )
    config.max_in_memory_upload_chunks = parts_in_memory  # not a constructor argument
    return config


def s3_storage_for(endpoint: str, config: TransferConfig) -> S3Storage:
    bucket = f"archives-{uuid.uuid4().hex[:12]}"
    credentials = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", **credentials).create_bucket(
        Bucket=bucket
    )
    return S3Storage(
        bucket_name=bucket,
        endpoint_url=endpoint,
        access_key="testing",
        secret_key="testing",
        region_name="us-east-1",
        file_overwrite=True,
        default_acl=None,
        transfer_config=config,
    )


@pytest.fixture
def s3_storage(moto_endpoint):
    # What imgwire_site/settings.py configures for S3: 8 MiB parts, 2 in memory, 2 threads.
    return s3_storage_for(moto_endpoint, transfer_config(8, 2, 2))


@pytest.fixture
def tight_s3_storage(moto_endpoint):
    # S3's smallest part size, one part in memory: growth with the archive would show.
    return s3_storage_for(moto_endpoint, transfer_config(5, 1, 1))


def test_an_archive_of_three_entries_round_trips_through_s3(s3_storage):
    contents = {
        "one.jpg": random_bytes(9, MIB),
        "empty.png": b"",
        "nine.webp": random_bytes(10, 9 * MIB),  # the archive needs a multipart upload
    }
    entries = [
        ArchiveEntry(name, put(s3_storage, f"originals/{i}", data), size=len(data))
        for i, (name, data) in enumerate(contents.items())
    ]

    size = write_archive("downloads/job-1.zip", entries, storage=s3_storage)

    archive, raw = read_back(s3_storage, "downloads/job-1.zip")
    assert size == len(raw) == s3_storage.size("downloads/job-1.zip")
    assert archive.testzip() is None
    assert {info.filename: archive.read(info) for info in archive.infolist()} == contents
    assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}
    assert s3_storage.bucket.Object("downloads/job-1.zip").content_type == "application/zip"


def test_a_missing_source_on_s3_leaves_no_archive_and_no_unfinished_upload(tight_s3_storage):
    storage = tight_s3_storage
    present = put(storage, "originals/present", random_bytes(11, 12 * MIB))
    entries = [ArchiveEntry("a.jpg", present), ArchiveEntry("b.jpg", "originals/gone")]

    with pytest.raises(ArchiveSourceMissing) as raised:
        write_archive("downloads/job.zip", entries, storage=storage)

    assert raised.value.key == "originals/gone"
    assert not storage.exists("downloads/job.zip")
    # The multipart upload begun for the first 12 MiB was aborted, not left to accrue.
    client = storage.connection.meta.client
    assert not client.list_multipart_uploads(Bucket=storage.bucket_name).get("Uploads")


def test_archiving_to_s3_keeps_memory_flat_and_streams_each_source(tight_s3_storage):
    storage = tight_s3_storage
    small = put(storage, "originals/2mib", random_bytes(12, 2 * MIB))
    large = put(storage, "originals/30mib", random_bytes(13, 30 * MIB))

    def entries(count):
        return [ArchiveEntry(f"{i}.jpg", small) for i in range(count)]

    archive_peak(storage, entries(4))  # first use: botocore models, multipart path
    half = archive_peak(storage, entries(15))  # 30 MiB
    full = archive_peak(storage, entries(30))  # 60 MiB
    one_large = archive_peak(storage, [ArchiveEntry("large.jpg", large)])  # 30 MiB, one entry

    assert storage.size("downloads/m.zip") > 30 * MIB
    # Bounded by the transfer pipeline (a few 5 MiB parts), not by the archive ...
    assert full - half < 5 * MIB, (half, full)
    assert full < 20 * MIB, full
    # ... nor by the largest source: storage.open() on S3 would hold all 30 MiB of it.
    assert one_large - half < 5 * MIB, (half, one_large)
