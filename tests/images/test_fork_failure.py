"""When the verification forkserver cannot fork, or cannot be started, verification fails at
once as the sandbox's fault (SandboxError), never as the file's: processing hands the image
back to PENDING for the broker's retry instead of quarantining it.

The failures are real ones, made by the kernel: the server (or the worker) runs under a
seccomp filter that makes fork fail with EAGAIN, as when the user is out of processes (a
resource limit would not do: root is exempt from RLIMIT_NPROC), or under an address-space
limit too small for the server's imports.
"""

import contextlib
import ctypes
import platform
import resource
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from images.processing import forkserver
from images.processing.forkserver import run_fresh
from images.processing.sandbox import SandboxError, inspect_image
from tests import imagegen
from tests.images import forkserver_jobs

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    platform.machine() != "x86_64", reason="the seccomp filter below uses x86-64's syscalls"
)

# A classic BPF program for seccomp (struct sock_filter: code, jt, jf, k). On x86-64:
# clone3 (435) answers ENOSYS, so that glibc falls back to clone (56), whose flags a filter
# can read; fork (57), vfork (58) and a clone without CLONE_THREAD answer EAGAIN; threads
# and every other call are allowed.
_LOAD, _IF_EQUAL, _IF_ANY_BIT, _RETURN = 0x20, 0x15, 0x45, 0x06
_ALLOW, _EAGAIN, _ENOSYS = 0x7FFF0000, 0x00050000 | 11, 0x00050000 | 38
_NO_PROCESSES = [
    (_LOAD, 0, 0, 0),  # the syscall's number
    (_IF_EQUAL, 7, 0, 435),
    (_IF_EQUAL, 5, 0, 57),
    (_IF_EQUAL, 4, 0, 58),
    (_IF_EQUAL, 0, 2, 56),
    (_LOAD, 0, 0, 16),  # clone's flags (low half of its first argument)
    (_IF_ANY_BIT, 0, 1, 0x10000),  # CLONE_THREAD
    (_RETURN, 0, 0, _ALLOW),
    (_RETURN, 0, 0, _EAGAIN),
    (_RETURN, 0, 0, _ENOSYS),
]
_PR_SET_NO_NEW_PRIVS, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 22, 2


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_code = b"".join(struct.pack("HBBI", *instruction) for instruction in _NO_PROCESSES)
_buffer = ctypes.create_string_buffer(_code, len(_code))
_program = _Program(len(_NO_PROCESSES), ctypes.addressof(_buffer))
_libc = ctypes.CDLL(None, use_errno=True)


def no_more_processes() -> None:
    """From here on this process, and what it executes, cannot create processes."""
    if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) or _libc.prctl(
        _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(_program), 0, 0
    ):
        raise OSError(ctypes.get_errno(), "could not install the seccomp filter")


def too_little_memory_to_start() -> None:
    # The interpreter starts; Pillow's libraries cannot be mapped (measured: 48 MiB is
    # enough for the imports, 16 MiB is not).
    resource.setrlimit(resource.RLIMIT_AS, (16 * 1024**2, 16 * 1024**2))


def drop_server() -> None:
    with forkserver._server_lock:
        server, forkserver._server = forkserver._server, None
    if server is not None:
        server.stop()


@pytest.fixture
def next_server_starts(monkeypatch):
    """``next_server_starts(preexec)``: this process's next server is started with
    ``preexec`` run in it before it executes; the test's servers are stopped after it, so
    the next test gets a healthy one."""
    popen = subprocess.Popen

    def start(preexec):
        class Popen(popen):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, preexec_fn=preexec, **kwargs)

        drop_server()
        monkeypatch.setattr(subprocess, "Popen", Popen)

    yield start
    drop_server()


@pytest.fixture
def jpeg(tmp_path):
    path = tmp_path / "upload.jpg"
    path.write_bytes(imagegen.jpeg())
    return str(path)


def test_a_server_that_cannot_fork_refuses_each_job_at_once_and_stays_up(next_server_starts):
    next_server_starts(no_more_processes)
    for _ in range(2):
        with pytest.raises(OSError, match=r"could not fork: .*Resource temporarily unavailable"):
            run_fresh(forkserver_jobs.pid, {}, timeout=30)
    assert forkserver._current_server().alive()


def test_a_file_verified_while_the_server_cannot_fork_is_the_sandboxs_fault(
    next_server_starts, jpeg
):
    # A timeout would have been an Inspection refusing the file: the answer must come first.
    next_server_starts(no_more_processes)
    with pytest.raises(SandboxError, match=r"could not start: .*could not fork"):
        inspect_image(jpeg, "image/jpeg", timeout_seconds=30)


def test_a_server_that_cannot_start_is_the_sandboxs_fault_and_the_next_one_verifies(
    next_server_starts, jpeg, monkeypatch
):
    next_server_starts(too_little_memory_to_start)
    with pytest.raises(SandboxError, match=r"could not start: .*forkserver did not start"):
        inspect_image(jpeg, "image/jpeg")
    monkeypatch.undo()
    assert inspect_image(jpeg, "image/jpeg").ok  # a dead server is started again


def test_a_worker_out_of_processes_reports_the_sandboxs_fault(jpeg):
    # In a process of its own: the filter cannot be taken off again. (So this module
    # imports nothing of Django's at the top: the script has no settings.)
    script = """
        import sys
        from images.processing.sandbox import SandboxError, inspect_image
        from tests.images.test_fork_failure import no_more_processes
        no_more_processes()
        try:
            inspect_image(sys.argv[1], "image/jpeg")
        except SandboxError as error:
            print(f"SandboxError: {error}")
    """
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), jpeg],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert completed.stdout.startswith("SandboxError: the image sandbox could not start: "), (
        completed.stderr
    )
    assert "Resource temporarily unavailable" in completed.stdout


@pytest.mark.django_db(transaction=True)
def test_an_upload_verified_while_the_server_cannot_fork_goes_back_to_pending(
    owner, next_server_starts, monkeypatch
):
    from django.core.files.storage import default_storage

    from images.models import Image
    from images.services.processing import image_process
    from tests.uploads import upload

    image_id = upload(owner.server, imagegen.jpeg(), "image/jpeg", "photo.jpg")
    next_server_starts(no_more_processes)
    with pytest.raises(SandboxError):  # the actor fails, and the broker retries it
        image_process(image_id)
    record = Image.objects.get(id=image_id)
    assert (record.status, record.status_reason) == ("PENDING", "")
    assert default_storage.exists(record.incoming_key)

    monkeypatch.undo()
    drop_server()
    image_process(image_id)  # the retry, once processes can be made again
    assert Image.objects.get(id=image_id).status == "READY"


@pytest.mark.django_db(transaction=True)
def test_an_upload_outlasting_the_attempt_cap_while_the_server_cannot_fork_is_not_quarantined(
    owner, next_server_starts, settings
):
    from images.models import Image
    from images.services.processing import image_process
    from tests.uploads import upload

    image_id = upload(owner.server, imagegen.jpeg(), "image/jpeg", "photo.jpg")
    next_server_starts(no_more_processes)
    for _ in range(settings.IMGWIRE_PROCESSING_MAX_ATTEMPTS + 1):
        # SandboxError is the fault we expect; a quarantine returns without raising.
        with contextlib.suppress(SandboxError):
            image_process(image_id)
    assert Image.objects.get(id=image_id).status == "PENDING"
