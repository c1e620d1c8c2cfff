"""Functions the sandbox tests run in a child (importable by the forkserver)."""

import os
import time
from resource import RLIMIT_AS, getrlimit


def echo(payload):
    return {"echo": payload["value"]}


def allocate(payload):
    return len(bytearray(payload["bytes"]))


def spin(payload):
    deadline = time.monotonic() + payload["seconds"]
    while time.monotonic() < deadline:
        pass
    return "done"


def refuse(payload):
    error = ValueError("too big")
    error.status = 400
    error.message = "width must be at most 8192"
    raise error


_left_behind = []


def remember(payload):
    """What a previous job left in this process, then leave something for the next one."""
    seen = list(_left_behind)
    _left_behind.append(payload["value"])
    return {"pid": os.getpid(), "seen": seen, "memory_cap": getrlimit(RLIMIT_AS)[0]}


def crash(payload):
    os._exit(3)
