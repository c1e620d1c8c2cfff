"""Functions the sandbox tests run in a child (importable by the forkserver)."""

import time


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
