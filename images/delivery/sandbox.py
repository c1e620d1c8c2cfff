"""Renders run in a forked child with an address-space cap and a deadline.

A hostile request (a huge canvas, a pathological blur) can then exhaust only its own child:
the web process answers with an error and carries on. Children are forked from a
forkserver that has Pillow and the engine imported already, so isolation costs a fork
rather than a fresh interpreter; and each process keeps one child forked ahead, waiting
for its job, so a render does not wait for that fork either. Every child still runs
exactly one job and exits: nothing a hostile file does to one render's process can reach
the next render.
"""

import multiprocessing
import os
import resource
import threading
from multiprocessing import spawn

MAIN_PATH_VARIABLE = "IMGWIRE_RENDER_MAIN_PATH"  # read by forkserver_ready
PRELOAD = [
    "PIL.Image",
    "PIL.JpegImagePlugin",
    "PIL.PngImagePlugin",
    "PIL.WebPImagePlugin",
    "PIL.GifImagePlugin",
    "pillow_heif",
    "pillow_jxl",
    "images.transform",
    "images.transform.engine",
    "images.delivery.render_child",
    "images.delivery.sandbox",  # children start in _spare_main
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
            _context = context
    return _context


class SandboxFailure(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _child_main(connection, function, payload, memory_bytes, cpu_seconds):
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
    try:
        connection.send(("ok", function(payload)))
    except MemoryError:
        connection.send(("error", (503, "The render needed more memory than its budget.")))
    except BaseException as error:  # reported to the parent, which decides the status
        status = getattr(error, "status", 500)
        message = getattr(error, "message", None) or f"The render failed: {error}"
        connection.send(("error", (status, message)))
    finally:
        connection.close()


def _spare_main(connection):
    """A child forked ahead of need: wait for one job, run it under its caps, exit."""
    try:
        job = connection.recv()
    except EOFError:  # the parent went away before giving it work
        return
    _child_main(connection, *job)


_spare_lock = threading.Lock()
_spare = None  # (process, connection) forked ahead for the next render of this process


def _fork_child():
    parent_end, child_end = _mp_context().Pipe(duplex=True)
    child = _mp_context().Process(target=_spare_main, args=(child_end,), daemon=True)
    child.start()
    child_end.close()
    return child, parent_end


def _take_child():
    """The spare when there is a live one (a fresh fork otherwise); a new spare is forked
    in the background for the next caller."""
    global _spare
    with _spare_lock:
        taken, _spare = _spare, None
    if taken is not None and not taken[0].is_alive():
        taken[1].close()
        taken = None
    threading.Thread(target=_refill_spare, daemon=True).start()
    return taken or _fork_child()


def _refill_spare():
    global _spare
    with _spare_lock:
        if _spare is not None:
            return
        try:
            _spare = _fork_child()
        except OSError:  # out of processes or memory: the next render forks its own
            _spare = None


def run_sandboxed(function, payload: dict, *, memory_bytes: int, timeout: float):
    """Run ``function(payload)`` in a capped child; return its (picklable) result.

    Raises SandboxFailure with an HTTP status: the child's own (e.g. 400 for a request over
    the output limits), 503 for a memory-budget overrun or a crash, 504 for the deadline.
    """
    child, connection = _take_child()
    answered = False
    try:
        connection.send((function, payload, memory_bytes, max(int(timeout) + 1, 2)))
        if not connection.poll(timeout):
            raise SandboxFailure(504, f"The render took longer than {timeout:g} seconds.")
        try:
            outcome, value = connection.recv()
        except EOFError:
            raise SandboxFailure(
                503, "The render ran out of its memory budget or crashed."
            ) from None
        answered = True
    finally:
        connection.close()
        # A child that answered is exiting on its own (multiprocessing reaps it at the next
        # start); waiting here for its exit would add ~3 ms to every render.
        if not answered:
            child.kill()
            child.join(5)
    if outcome == "error":
        raise SandboxFailure(*value)
    return value
