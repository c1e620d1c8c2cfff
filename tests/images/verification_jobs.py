"""Stand-ins for the verification child's entry point, run in forkserver children by
tests/images/test_verification_forkserver.py (importable by the forkserver)."""

import os
import resource
import signal

from images.processing import sandbox_child


def pid(payload):
    return os.getpid()


def _log(request, text: str) -> None:
    with open(request["log_path"], "a") as log:
        log.write(text)


def crash(request):
    _log(request, sandbox_child.STARTED_MARK)
    os.kill(os.getpid(), signal.SIGSEGV)


def abort_out_of_memory(request):
    _log(request, sandbox_child.STARTED_MARK + "libheif: Memory allocation failed\n")
    os.abort()


def die_before_inspecting(request):
    os._exit(3)


def report_limits(request):
    """The real entry point, with the inspection replaced by a report of the limits the
    child runs under (in this child only)."""

    def limits(path, declared_mime, max_pixels):
        exif = {
            name: list(resource.getrlimit(kind))
            for name, kind in (
                ("as", resource.RLIMIT_AS),
                ("cpu", resource.RLIMIT_CPU),
                ("core", resource.RLIMIT_CORE),
            )
        }
        return {
            "ok": True, "mime_type": declared_mime, "width": 1, "height": 1, "frames": 1,
            "is_animated": False, "has_alpha": False, "orientation": 1, "exif": exif,
        }  # fmt: skip

    sandbox_child.inspect = limits
    return sandbox_child.run_forked(request)
