"""Renders (and image verification) run in forked children with an address-space cap and
a deadline.

A hostile request (a huge canvas, a pathological blur) can then exhaust only its child:
the web process answers with an error and carries on. Children are forked from a
forkserver that has Pillow and the engine imported already, so a child costs a fork rather
than a fresh interpreter; and a fork, its copy-on-write faults and its exit still cost
~10 ms of CPU, so a child serves up to ``max_jobs`` renders (IMGWIRE_RENDER_CHILD_MAX_JOBS)
before it retires. Every job gets its own memory cap and deadline; a child whose job ran
out of memory, crashed, raised anything but a deliberate 4xx refusal or passed its
deadline is never used again (killed, when it has not exited), and one whose memory grew
by RETIRE_GROWTH_BYTES retires. With max_jobs=1 every render runs in a fresh process,
forked ahead so the render does not wait for it.

Verification does not use this forkserver: it has its own lean one
(images/processing/forkserver.py). ``fresh=True`` (a child that has run nothing before and
runs nothing after) remains for bench/verification.py's comparison column.
"""

import multiprocessing
import os
import resource
import threading
from dataclasses import dataclass
from multiprocessing import spawn

from images.processing.limits import apply_pixel_limit

MAIN_PATH_VARIABLE = "IMGWIRE_RENDER_MAIN_PATH"  # read by forkserver_ready
# Every plugin an accepted format opens with (images/processing/forkserver_server.py says
# why: one missing makes Image.open import all of Pillow's plugins in the child).
PRELOAD = [
    "PIL.Image",
    "PIL.JpegImagePlugin",
    "PIL.MpoImagePlugin",
    "PIL.BmpImagePlugin",
    "PIL.IcoImagePlugin",
    "PIL.PngImagePlugin",
    "PIL.WebPImagePlugin",
    "PIL.GifImagePlugin",
    "PIL.TiffImagePlugin",
    "PIL.AvifImagePlugin",
    "PIL.ExifTags",
    "pillow_heif",
    "pillow_jxl",
    "images.transform",
    "images.transform.engine",
    "images.delivery.render_child",
    "images.processing.sandbox_child",  # verification children start in run_forked
    "images.processing.coverage",
    "images.delivery.sandbox",  # children start in _child_main
    "images.delivery.forkserver_ready",  # last: loads __main__, freezes all of the above
]

_context_lock = threading.Lock()
_context = None


def _mp_context():
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            # The forkserver inherits the environment when it starts (at the first render).
            main_path = spawn.get_preparation_data("render").get("init_main_from_path")
            os.environ[MAIN_PATH_VARIABLE] = main_path or ""
            _ask_for_huge_pages()
            _context = context
    return _context


def _ask_for_huge_pages() -> None:
    """Let glibc's malloc in the forkserver and its children use transparent huge pages.

    A child's heap starts empty at every fork, so each page a decode or render writes is
    a fresh page fault: a 12 MP image's 36 MB of pixels cost ~9 000 of them, ~25 ms on a
    virtual machine (docs/benchmarks.md, verification); 2 MiB pages cost ~20. glibc reads
    its tunables when a process starts, hence the environment; nothing changes where THP
    is off or glibc older than 2.35.
    """
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    if "glibc.malloc.hugetlb" not in tunables:
        os.environ["GLIBC_TUNABLES"] = ":".join(filter(None, [tunables, "glibc.malloc.hugetlb=1"]))


class SandboxFailure(Exception):
    def __init__(self, status: int, message: str, exitcode: int | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        # A child that died before answering: its exit status (negative: the signal).
        self.exitcode = exitcode


# A child that has grown this much since it started (a fragmented heap) retires.
RETIRE_GROWTH_BYTES = 96 * 1024 * 1024
# Idle children one process keeps for its next renders.
MAX_IDLE = 2


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def _set_soft_limit(kind: int, value: int) -> None:
    hard = resource.getrlimit(kind)[1]
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, hard))


def _run_job(function, payload, memory_bytes, cpu_seconds, max_pixels=None):
    """(outcome, value, healthy) of one job under its own caps."""
    if max_pixels is not None:
        # The forkserver is a fresh interpreter, with Pillow's default bomb limit.
        apply_pixel_limit(max_pixels)
    # Soft limits only, so the next job can set its own; the CPU limit counts this
    # process's total, so it is the time used so far plus this job's budget.
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu_used = int(used.ru_utime + used.ru_stime)
    _set_soft_limit(resource.RLIMIT_AS, memory_bytes)
    _set_soft_limit(resource.RLIMIT_CPU, cpu_used + cpu_seconds)
    try:
        return "ok", function(payload), True
    except MemoryError:
        return "error", (503, "The render needed more memory than its budget."), False
    except BaseException as error:  # reported to the parent, which decides the status
        status = getattr(error, "status", 500)
        message = getattr(error, "message", None) or f"The render failed: {error}"
        # A refusal the code raised on purpose (a 4xx) leaves the process as it was.
        return "error", (status, message), 400 <= status < 500


def _child_main(connection):
    """Run jobs until told a job is the last, a job leaves the process unhealthy, it has
    grown too much, or the parent goes away."""
    started = _rss_bytes()
    try:
        while True:
            try:
                function, payload, memory_bytes, cpu_seconds, max_pixels, last = connection.recv()
            except EOFError:
                return
            outcome, value, healthy = _run_job(
                function, payload, memory_bytes, cpu_seconds, max_pixels
            )
            going_on = healthy and not last and _rss_bytes() - started < RETIRE_GROWTH_BYTES
            connection.send((outcome, value, going_on))
            if not going_on:
                return
    finally:
        connection.close()


@dataclass
class _Child:
    process: multiprocessing.Process
    connection: object
    jobs: int = 0

    @classmethod
    def fork(cls) -> "_Child":
        parent_end, child_end = _mp_context().Pipe(duplex=True)
        process = _mp_context().Process(target=_child_main, args=(child_end,), daemon=True)
        process.start()
        child_end.close()
        return cls(process, parent_end)

    def retire(self, *, kill: bool) -> None:
        self.connection.close()  # an idle child exits when it sees the pipe close
        if kill:
            self.process.kill()
            self.process.join(5)


_idle_lock = threading.Lock()
_idle: list[_Child] = []


def _take_child(fresh: bool = False) -> _Child:
    """An idle child (with ``fresh``, only one that has run no job yet), or a new one."""
    with _idle_lock:
        for index in range(len(_idle) - 1, -1, -1):
            child = _idle[index]
            if fresh and child.jobs:
                continue
            del _idle[index]
            if child.process.is_alive():
                return child
            child.retire(kill=False)
    return _Child.fork()


def _keep(child: _Child) -> bool:
    with _idle_lock:
        if len(_idle) < MAX_IDLE:
            _idle.append(child)
            return True
    return False


# Forks ahead still running: retire_idle_children waits for them, or one finishing just
# after it would leave an idle child behind all the same.
_forking: set[threading.Thread] = set()


def retire_idle_children() -> None:
    """Let every idle child of this process exit (the next render forks afresh)."""
    with _idle_lock:
        pending = list(_forking)
    for thread in pending:
        thread.join(10)
    with _idle_lock:
        retiring, _idle[:] = list(_idle), []
    for child in retiring:
        child.retire(kill=False)


def _fork_ahead() -> None:
    """Fork a child for a later render, so that render does not wait for the fork."""
    try:
        try:
            child = _Child.fork()
        except OSError:  # out of processes or memory: the next render forks its own
            return
        if not _keep(child):
            child.retire(kill=False)
    finally:
        # Only once the child is kept (or not): a retire waiting on this thread then sees it.
        with _idle_lock:
            _forking.discard(threading.current_thread())


def _start_fork_ahead() -> None:
    thread = threading.Thread(target=_fork_ahead, daemon=True)
    with _idle_lock:
        _forking.add(thread)
    thread.start()


def run_sandboxed(
    function,
    payload: dict,
    *,
    memory_bytes: int,
    timeout: float,
    max_jobs: int = 1,
    max_pixels: int | None = None,
    fresh: bool = False,
):
    """Run ``function(payload)`` in a capped child; return its (picklable) result.

    A child runs at most ``max_jobs`` jobs (1: every job gets a fresh process), each with
    Pillow's pixel limit set to ``max_pixels`` (None: left as it is); ``fresh``: in a child
    that has run no other job. Raises SandboxFailure with an HTTP status: the child's own
    (e.g. 400 for a request over the output limits), 503 for a memory-budget overrun or a
    crash (with the child's exit status), 504 for the deadline.
    """
    child = _take_child(fresh)
    child.jobs += 1
    going_on = False
    answered = False
    try:
        cpu_seconds = max(int(timeout) + 1, 2)
        child.connection.send(
            (function, payload, memory_bytes, cpu_seconds, max_pixels, child.jobs >= max_jobs)
        )
        if not child.connection.poll(timeout):
            raise SandboxFailure(504, f"The render took longer than {timeout:g} seconds.")
        try:
            outcome, value, going_on = child.connection.recv()
        except EOFError:
            child.process.join(5)  # it is exiting: its status says how it died
            raise SandboxFailure(
                503,
                "The render ran out of its memory budget or crashed.",
                child.process.exitcode,
            ) from None
        answered = True
    finally:
        if not (going_on and _keep(child)):
            # One that answered exits by itself (multiprocessing reaps it at the next
            # start); waiting for that exit here would add ~3 ms to the render.
            child.retire(kill=not answered)
            if not going_on:
                _start_fork_ahead()
    if outcome == "error":
        raise SandboxFailure(*value)
    return value
