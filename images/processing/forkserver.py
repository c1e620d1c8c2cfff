"""A lean forkserver for verification: a fresh, single-use child per untrusted file.

The render forkserver (images/delivery/sandbox.py) is built for renders: multiprocessing's
forkserver and Process bootstrap, the render engine and the main module preloaded, a
pickled pipe per child. On this project's VMs a fork costs by the page tables it copies,
and that overhead was most of a 200 KB file's verification (docs/benchmarks.md,
Verification). The lean server (images/processing/forkserver_server.py) imports only what
an inspection needs and per request does one ``fork()``: the child closes every descriptor
but its own reply socket, runs the job and exits; the server reaps it through a pidfd and
reports how it died. A child never sees another file, another child's socket, the parent's
descriptors or its secrets (the server starts with a minimal environment).

Lifetime: one server per process, started at the first request (which waits until it is
ready), started again when it is found dead; a process forked from its parent starts its
own. The server exits when its parent does (its control socket reaches end of file), and
kills its children first. A child dies with the server (PR_SET_PDEATHSIG), so a server
killed with -9 leaves no decoder running; the requests it had in flight end as ChildDied.

Protocol: the parent and the server share one SOCK_SEQPACKET socket (a request is one
atomic message, so threads need no lock); each request carries the pickled job and, as
SCM_RIGHTS, one end of a per-request stream socket. On it the child writes ``R`` + length +
its result (a string, UTF-8); the server, once the child is reaped without one, ``S`` + its
exit status, or ``E`` + length + why when it could not fork. The parent writes ``K`` (or
closes its end) to have the child killed: its deadline passed.

No Django here or in the server.
"""

from __future__ import annotations

import array
import atexit
import contextlib
import os
import pickle
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from images.processing.forkserver_server import LENGTH, READY, STATUS

# What the server and its children see of the parent's environment: enough to run Python
# and find the libraries, none of the parent's secrets (SECRET_KEY, DATABASE_URL, keys).
ENVIRONMENT = frozenset({
    "PATH", "LANG", "LANGUAGE", "TZ", "TMPDIR", "LD_LIBRARY_PATH", "PYTHONPATH",
    "PYTHONHASHSEED", "GLIBC_TUNABLES",
})  # fmt: skip
# Imports and the warm-up take ~0.5 s, several seconds on a loaded machine.
STARTUP_TIMEOUT = 60.0
# A result is a line of JSON with bounded EXIF; more than this is a child gone wrong, and
# must not fill the parent's memory.
MAX_ANSWER = 64 * 1024**2


class ChildDied(Exception):
    """The child ended without a result; ``exitcode`` is negative for a signal (None:
    unknown, e.g. the server went away)."""

    def __init__(self, exitcode: int | None, detail: str | None = None):
        super().__init__(detail or f"the child ended without a result (exit status {exitcode})")
        self.exitcode = exitcode


class ChildTimeout(Exception):
    """The deadline passed; the child has been killed."""


def _server_environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ENVIRONMENT or k.startswith("LC_")}
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    # glibc reserves 64 MiB of address space per malloc arena, which RLIMIT_AS counts.
    env["MALLOC_ARENA_MAX"] = "2"
    tunables = env.get("GLIBC_TUNABLES", "")
    if "glibc.malloc.hugetlb" not in tunables:
        # A child's heap is empty at every fork, so each page a decode writes faults;
        # transparent huge pages make that ~500 times fewer faults for a 12 MP image.
        env["GLIBC_TUNABLES"] = ":".join(filter(None, [tunables, "glibc.malloc.hugetlb=1"]))
    return env


class _Server:
    def __init__(self):
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        root = str(Path(__file__).resolve().parents[2])
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "images.processing.forkserver_server", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), env=_server_environment(), cwd=root,
                stdin=subprocess.DEVNULL,
            )  # fmt: skip
        except BaseException:
            mine.close()
            raise
        finally:
            theirs.close()
        self.control = mine
        self.pid = os.getpid()
        # Until it is ready, so that no request's deadline is spent on the server's imports.
        mine.settimeout(STARTUP_TIMEOUT)
        try:
            ready = mine.recv(len(READY))
        except OSError:
            ready = b""
        if ready != READY:
            self.stop()
            raise OSError(
                f"the verification forkserver did not start (exit status {self.process.poll()})"
            )
        mine.settimeout(None)

    def alive(self) -> bool:
        return self.pid == os.getpid() and self.process.poll() is None

    def kill(self) -> None:
        # Its control socket stays open: another thread may be sending on it. The collector
        # closes it once no thread holds this server.
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        """Close the control socket (the server then kills its children and exits); kill
        it if it does not."""
        with contextlib.suppress(OSError):
            self.control.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()


_server_lock = threading.Lock()
_server: _Server | None = None


def _current_server() -> _Server:
    global _server
    with _server_lock:
        if _server is None or not _server.alive():
            # First use, or it died (poll() reaped it), or the process forked.
            _server = _Server()
        return _server


def _after_fork_in_child() -> None:
    # The parent's server is not this process's: leave it to the parent (holding its socket
    # would keep it running after the parent exits), and start another when needed. The
    # lock may have been held by a thread that does not exist here.
    global _server, _server_lock
    _server_lock = threading.Lock()
    server, _server = _server, None
    if server is not None:
        with contextlib.suppress(OSError):
            server.control.close()


os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _stop_at_exit() -> None:
    server = _server
    if server is not None and server.pid == os.getpid():
        server.stop()


def _send(server: _Server, job: bytes) -> socket.socket:
    """Hand the job to the server; return this end of its reply socket."""
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with theirs:
        try:
            fds = array.array("i", [theirs.fileno()])
            server.control.sendmsg([job], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)])
        except BaseException:
            mine.close()
            raise
    return mine


def _submit(job: bytes) -> socket.socket:
    server = _current_server()
    try:
        return _send(server, job)
    except ConnectionError:  # it died since it was last seen alive: once more, with another
        global _server
        with _server_lock:
            if _server is server:
                _server = None
        server.kill()
    return _send(_current_server(), job)


def _receive_exactly(sock: socket.socket, count: int, deadline: float) -> bytes | None:
    # One deadline for the whole answer: a child that trickles bytes must not hold us.
    chunks, left = [], count
    while left:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        sock.settimeout(remaining)
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _receive_frame(sock: socket.socket, deadline: float) -> bytes | None:
    header = _receive_exactly(sock, LENGTH.size, deadline)
    if header is None:
        return None
    length = LENGTH.unpack(header)[0]
    if length > MAX_ANSWER:
        raise ChildDied(None, f"the child answered {length:,} bytes, over {MAX_ANSWER:,}")
    return _receive_exactly(sock, length, deadline)


def run_fresh(function, payload, *, timeout: float) -> str:
    """Run ``function(payload)`` in a new child of the lean forkserver; return the string it
    returns.

    ``function`` must be importable by name (it is pickled, with ``payload``). Raises
    ChildTimeout after ``timeout`` seconds (the child is killed), ChildDied when it ends
    without a result, OSError when the server cannot be started, reached or fork.
    """
    job = pickle.dumps((function, payload), protocol=pickle.HIGHEST_PROTOCOL)
    # Closing our end, whatever happens, tells the server to kill a child still running.
    with _submit(job) as mine:
        deadline = time.monotonic() + timeout
        try:
            kind = _receive_exactly(mine, 1, deadline)
            if kind == b"R":
                body = _receive_frame(mine, deadline)
                if body is None:
                    raise ChildDied(None, "the child was cut off as it answered")
                # Text, never a pickle: a child that a hostile file took over must not
                # be able to run code in this process by what it answers.
                return body.decode("utf-8", "replace")
            if kind == b"S":
                status = _receive_exactly(mine, STATUS.size, deadline)
                raise ChildDied(STATUS.unpack(status)[0] if status else None)
            if kind == b"E":
                why = _receive_frame(mine, deadline) or b"no reason given"
                raise OSError(f"the verification forkserver could not fork: {why.decode()}")
            raise ChildDied(None, "the verification forkserver went away")
        except TimeoutError:
            with contextlib.suppress(OSError):
                mine.send(b"K")
            raise ChildTimeout() from None
