"""Delivery usage spooled to local files (installs whose broker is RabbitMQ).

Publishing a confirmed, persistent RabbitMQ message per request would cost a broker round
trip and a disk sync per delivery, and a message per N hits or per interval would lose up
to N hits (or one interval) on a kill -9. A ``write()`` to a local file costs a few
microseconds and survives the death of the process: the bytes are in the kernel's page
cache as soon as the call returns. (It does not survive losing the machine's disk before
the next flush, which a kill -9 does not do.)

Per request: one ``os.write`` of one line ``<environment> <YYYYMMDDHH> <4 counts>\\n`` to
this process's open spool file, ``<spool>/<host>-<pid>-<random>.open``, which the process
holds an exclusive ``flock`` on while it lives.

Flush (every IMGWIRE_USAGE_FLUSH_SECONDS, in every counting process of the machine): swap
in a new open file, rename the old one to ``.ready`` while still holding its lock; adopt
every ``.open`` file whose lock can be taken (its process is dead) the same way; then merge
each ``.ready`` file in one transaction recording its name as a ``UsageBatch``, and
unlink it. A file merged but not yet unlinked when its flusher died is recognised by that
record and unlinked without being counted again.
"""

import contextlib
import fcntl
import os
import secrets
import socket
import threading
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

_MEASURES = ("requests", "transfer_bytes", "cache_hits", "transformations")
_lock = threading.Lock()
_fd: int | None = None
_path: Path | None = None
_pid: int | None = None


def spool_dir() -> Path:
    return Path(settings.IMGWIRE_USAGE_SPOOL_DIR)


def _open_new() -> tuple[int, Path]:
    directory = spool_dir()
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(6)}.open"
    path = directory / name
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    # "Alive": adopters skip locked files. A POSIX (fcntl) lock, not flock(): it belongs to
    # this process alone, so children forked later (render sandboxes) that inherit the
    # descriptor do not keep it locked after this process is killed.
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd, path


def _current() -> int:
    """This process's spool file (a forked child opens its own). Call with _lock held."""
    global _fd, _path, _pid
    if _fd is None or _pid != os.getpid():
        _fd, _path = _open_new()
        _pid = os.getpid()
    return _fd


def record(environment_id: str, hour: datetime, counts: tuple) -> None:
    line = f"{environment_id} {hour:%Y%m%d%H} {' '.join(str(int(c)) for c in counts)}\n"
    with _lock:  # the flusher swaps the descriptor; never write to a closed one
        os.write(_current(), line.encode())


def _retire(fd: int, path: Path) -> None:
    """Rename a spool file to .ready while holding its lock, then let the lock go."""
    with contextlib.suppress(FileNotFoundError):
        path.rename(path.with_suffix(".ready"))
    os.close(fd)


def _hand_off_own() -> None:
    global _fd, _path
    with _lock:
        if _fd is None or _pid != os.getpid() or os.fstat(_fd).st_size == 0:
            return  # nothing counted since the last handoff: keep the file
        old_fd, old_path = _fd, _path
        _fd, _path = _open_new()
    _retire(old_fd, old_path)


def _adopt_orphans() -> None:
    with _lock:
        own = _path if _pid == os.getpid() else None
    for path in spool_dir().glob("*.open"):
        if path == own:
            continue  # POSIX locks never conflict within one process: skip our own file
        try:
            fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)  # a live process's file
            continue
        if not path.exists():  # renamed by another adopter between our glob and our lock
            os.close(fd)
            continue
        _retire(fd, path)


def _hour_of(label: str) -> datetime:
    if len(label) != 10 or not label.isdigit():  # strptime alone reads 20261302 as Jan 30
        raise ValueError(label)
    return datetime.strptime(label, "%Y%m%d%H").replace(tzinfo=UTC)


def _parse(data: bytes) -> dict[tuple, Counter]:
    batch: dict[tuple, Counter] = defaultdict(Counter)
    for line in data.decode(errors="replace").splitlines():
        try:
            environment_id, hour, *values = line.split()
            moment = _hour_of(hour)
            counts = [int(v) for v in values]
        except ValueError:
            continue
        if len(counts) != len(_MEASURES):
            continue
        for measure, value in zip(_MEASURES, counts, strict=True):
            batch[(environment_id, moment)][measure] += value
    return batch


def flush(merge) -> int:
    directory = spool_dir()
    if not directory.exists():
        return 0
    _hand_off_own()
    _adopt_orphans()
    touched = 0
    for path in sorted(directory.glob("*.ready")):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue  # another process of this machine merged it
        touched += merge(f"spool:{path.name}", _parse(data))
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return touched


def discard() -> None:
    global _fd, _path
    with _lock:
        if _fd is not None and _pid == os.getpid():
            os.close(_fd)
        _fd = _path = None
    directory = spool_dir()
    if directory.exists():
        for path in directory.glob("*.*"):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
