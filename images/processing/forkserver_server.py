"""The lean verification forkserver itself: ``python -m images.processing.forkserver_server``.

Started by ``images.processing.forkserver`` (the parent's side, which documents the
protocol), one per parent process. It imports only what an inspection needs, warms it up,
freezes its heap for the garbage collector, says it is ready, and then per request forks
one child that runs one job and exits. It is single-threaded, so forking is safe and a
child's PR_SET_PDEATHSIG follows the server itself.

No Django: a bare interpreter, whose children open untrusted files.
"""

from __future__ import annotations

import array
import contextlib
import ctypes
import gc
import os
import pickle
import select
import signal
import socket
import struct
import sys

# Every plugin an accepted format opens with. One missing from Image.OPEN (ICO's was) makes
# Image.open import all 44 of Pillow's plugins in the child (Image.init; the worker's file
# ends in .upload, so Pillow cannot pick the plugin by extension): ~22 ms of CPU for an ICO
# and for every file no format accepts, ~3 ms with it here. The JPEG opener imports MPO's
# on an MPO file (~1 ms).
PRELOAD = (
    "PIL.Image", "PIL.JpegImagePlugin", "PIL.MpoImagePlugin", "PIL.PngImagePlugin",
    "PIL.WebPImagePlugin", "PIL.GifImagePlugin", "PIL.TiffImagePlugin", "PIL.BmpImagePlugin",
    "PIL.IcoImagePlugin", "PIL.AvifImagePlugin", "PIL.ExifTags", "pillow_heif", "pillow_jxl",
    "images.processing.sandbox_child", "images.processing.coverage",
    "images.processing.formats", "images.processing.limits",
)  # fmt: skip
# CPython 3.11 specializes a function's bytecode after a few runs (writing to it).
WARM_UP_RUNS = 20
READY = b"ready"
STATUS = struct.Struct("!i")
LENGTH = struct.Struct("!Q")
MAX_REQUEST = 1 << 20
_PR_SET_PDEATHSIG = 1
# The server never waits on a parent that does not read its reply socket.
_DONT_BLOCK = socket.MSG_NOSIGNAL | socket.MSG_DONTWAIT
_prctl = None


def _child(reply: socket.socket, job: bytes, server_pid: int, max_fd: int) -> None:
    """In the forked child: run the job, write the result, exit. Never returns.

    The server's objects stay referenced (this frame never returns), so none of the sockets
    closed below is closed again by the collector under a reused number."""
    code = 0
    try:
        # Die with the server, even when it is killed with -9 (it has a single thread).
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != server_pid:
            os._exit(70)  # it died before the line above
        fd = reply.fileno()
        # Nothing but its own reply socket: not the control socket, not another child's.
        os.closerange(3, fd)
        os.closerange(fd + 1, max(max_fd, fd + 1))
        function, payload = pickle.loads(job)  # noqa: S301  (the parent's, before any image)
        body = str(function(payload)).encode("utf-8", "replace")
        reply.sendall(b"R" + LENGTH.pack(len(body)) + body)
    except BaseException:  # the parent learns it from the exit status
        code = 70
    os._exit(code)


def _refuse(reply: socket.socket, error: BaseException) -> None:
    why = str(error).encode("utf-8", "replace")
    with contextlib.suppress(OSError):
        reply.send(b"E" + LENGTH.pack(len(why)) + why, _DONT_BLOCK)
    reply.close()


class _Children:
    """The server's children: pidfd -> (pid, reply socket), and reply fd -> pidfd."""

    def __init__(self, poller):
        self.poller, self.by_pidfd, self.by_reply = poller, {}, {}

    def start(self, job: bytes, reply: socket.socket, max_fd: int) -> None:
        server_pid = os.getpid()
        try:
            pid = os.fork()
        except OSError as error:  # out of processes or memory: this request fails, not us
            _refuse(reply, error)
            return
        if pid == 0:
            _child(reply, job, server_pid, max_fd)
        try:
            pidfd = os.pidfd_open(pid)
        except OSError as error:  # out of descriptors: a child we could not watch
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            _refuse(reply, error)
            return
        self.by_pidfd[pidfd] = (pid, reply)
        self.by_reply[reply.fileno()] = pidfd
        self.poller.register(pidfd, select.POLLIN)
        self.poller.register(reply, select.POLLIN)

    def kill(self, reply_fd: int) -> None:
        # The parent asked for a kill, or gave up on the answer: either way the child is of
        # no more use (one that answered is exiting already). It is reaped through its pidfd.
        pid = self.by_pidfd[self.by_reply.pop(reply_fd)][0]
        self.poller.unregister(reply_fd)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)

    def reap(self, pidfd: int) -> None:
        pid, reply = self.by_pidfd.pop(pidfd)
        self.poller.unregister(pidfd)
        if self.by_reply.pop(reply.fileno(), None) is not None:
            self.poller.unregister(reply)
        _, status = os.waitpid(pid, 0)
        os.close(pidfd)
        # Read by the parent only if the child wrote no result (it stops at the first frame).
        with contextlib.suppress(OSError):
            reply.send(b"S" + STATUS.pack(os.waitstatus_to_exitcode(status)), _DONT_BLOCK)
        reply.close()

    def kill_all(self) -> None:
        for pid, _reply in self.by_pidfd.values():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for pidfd in list(self.by_pidfd):
            self.reap(pidfd)


def _receive_request(control: socket.socket) -> tuple[bytes, socket.socket | None]:
    ancillary = socket.CMSG_SPACE(4 * array.array("i").itemsize)
    job, cmsgs, flags, _address = control.recvmsg(MAX_REQUEST, ancillary)
    if not job and not cmsgs:
        raise EOFError
    fds = array.array("i")
    for level, kind, data in cmsgs:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % fds.itemsize])
    for extra in fds[1:]:  # one per request; more would only leak
        os.close(extra)
    reply = socket.socket(fileno=fds[0]) if fds else None
    if reply is not None and flags & socket.MSG_TRUNC:
        _refuse(reply, ValueError(f"the request is over {MAX_REQUEST:,} bytes"))
        reply = None
    return job, reply


def serve(control: socket.socket) -> None:
    poller = select.poll()
    poller.register(control, select.POLLIN)
    children = _Children(poller)
    max_fd = os.sysconf("SC_OPEN_MAX")  # no descriptor of ours can be numbered above it
    while True:
        # The control socket last: a request opens descriptors, which may reuse the number
        # of one closed earlier in this batch and must not be mistaken for it.
        events = sorted(poller.poll(), key=lambda event: event[0] == control.fileno())
        for fd, _events in events:
            if fd == control.fileno():
                try:
                    job, reply = _receive_request(control)
                except EOFError:  # the parent is gone
                    children.kill_all()
                    return
                if reply is not None:
                    children.start(job, reply, max_fd)
            elif fd in children.by_pidfd:
                children.reap(fd)
            elif fd in children.by_reply:
                children.kill(fd)


def _warm_up() -> None:
    """Inspect a few small images here, before any fork.

    What a first inspection does once per process (plugin registration, decoder setup,
    caches, CPython specializing the bytecode it runs) would otherwise be done, and its
    pages copied, in every child. Measured on the shared 2-core VM, the gain is small (a
    few percent of a child's system time, within the noise); it costs ~0.2 s once.
    """
    import tempfile

    from PIL import Image

    from images.processing.sandbox_child import inspect

    picture = Image.radial_gradient("L").resize((320, 240)).convert("RGB")
    with tempfile.TemporaryDirectory(prefix="imgwire-forkserver-") as folder:
        for kind, mime in (("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")):
            path = os.path.join(folder, f"warm-up.{kind.lower()}")
            picture.save(path, kind)
            for _ in range(WARM_UP_RUNS):
                with contextlib.suppress(Exception):
                    inspect(path, mime, 250_000_000)


def main() -> None:
    import importlib

    global _prctl
    # Ctrl-C in a terminal reaches the whole process group; the server ends with its parent.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    control = socket.socket(fileno=int(sys.argv[1]))
    # Looked up here, not in every child: ctypes resolves a name on first use, in Python.
    _prctl = ctypes.CDLL(None).prctl
    for name in PRELOAD:
        importlib.import_module(name)
    _warm_up()
    # Objects the children inherit stay out of their collections: no copy-on-write of
    # every page the collector would otherwise touch.
    gc.collect()
    gc.freeze()
    control.send(READY)
    serve(control)


if __name__ == "__main__":
    main()
