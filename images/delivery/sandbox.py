"""Renders run in a forked child with an address-space cap and a deadline.

A hostile request (a huge canvas, a pathological blur) can then exhaust only its own child:
the web process answers with an error and carries on. Children are forked from a
forkserver that has Pillow and the engine imported already, so isolation costs a fork
(~20 ms) rather than a fresh interpreter.
"""

import multiprocessing
import resource
import threading

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
]

_context_lock = threading.Lock()
_context = None


def _mp_context():
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
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


def run_sandboxed(function, payload: dict, *, memory_bytes: int, timeout: float):
    """Run ``function(payload)`` in a capped child; return its (picklable) result.

    Raises SandboxFailure with an HTTP status: the child's own (e.g. 400 for a request over
    the output limits), 503 for a memory-budget overrun or a crash, 504 for the deadline.
    """
    context = _mp_context()
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_child_main,
        args=(sender, function, payload, memory_bytes, max(int(timeout) + 1, 2)),
        daemon=True,
    )
    child.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            raise SandboxFailure(504, f"The render took longer than {timeout:g} seconds.")
        try:
            outcome, value = receiver.recv()
        except EOFError:
            raise SandboxFailure(
                503, "The render ran out of its memory budget or crashed."
            ) from None
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join(5)
    if outcome == "error":
        raise SandboxFailure(*value)
    return value
