"""Jobs for tests/images/test_lean_forkserver.py, run in children of the lean verification
forkserver (importable by it: it imports them by name)."""

import json
import os
import stat
import time


def pid(payload):
    return os.getpid()


def descriptors(payload):
    return sorted(int(name) for name in os.listdir("/proc/self/fd"))


def _is_socket(fd):
    try:
        return stat.S_ISSOCK(os.fstat(fd).st_mode)
    except OSError:  # the directory descriptors() listed, closed since
        return False


def environment(payload):
    return json.dumps(sorted(os.environ))


def exit_with(payload):
    os._exit(payload["status"])


def answer_of(payload):
    return "x" * payload["size"]


def spin(payload):
    with open(payload["pid_path"], "w") as out:
        out.write(str(os.getpid()))
    deadline = time.monotonic() + payload["seconds"]
    while time.monotonic() < deadline:
        pass
    return "finished"


def trickle(payload):
    """Answer one byte at a time, each well within the deadline, the whole far past it."""
    reply = next(fd for fd in descriptors(None) if fd > 2 and _is_socket(fd))
    message = b"R" + (5).to_bytes(8, "big") + b"late!"
    for byte in message:
        os.write(reply, bytes([byte]))
        time.sleep(payload["gap"])
    os._exit(0)


def inspect_forever(request):
    """A stand-in for the verification child's entry point that never finishes: it says it
    started inspecting (in the log, as the real one does), then leaves its pid and spins."""
    from images.processing import sandbox_child

    with open(request["log_path"], "a") as log:
        log.write(sandbox_child.STARTED_MARK)
    return spin({"pid_path": request["log_path"] + ".pid", "seconds": 60})
