"""Verification runs each file in a fresh child (of the lean verification forkserver,
images/processing/forkserver.py), with its limits; ``run_sandboxed(fresh=True)`` of the
render forkserver still gives a never-used child (bench/verification.py compares them)."""

import subprocess
import types

import pytest

from images.delivery.sandbox import run_sandboxed
from images.processing import sandbox, sandbox_child
from images.processing.sandbox import SandboxError, inspect_image
from tests import imagegen
from tests.images import verification_jobs

MIB = 1024 * 1024


@pytest.fixture
def jpeg(tmp_path):
    path = tmp_path / "upload.jpg"
    path.write_bytes(imagegen.jpeg())
    return str(path)


@pytest.fixture
def entry_point(monkeypatch):
    """Make inspect_image start its children in a stand-in (pickled by name, so the
    forkserver runs it)."""

    def use(function):
        monkeypatch.setattr(
            sandbox,
            "sandbox_child",
            types.SimpleNamespace(run_forked=function, STARTED_MARK=sandbox_child.STARTED_MARK),
        )

    return use


def test_verification_starts_no_new_interpreter(jpeg, monkeypatch):
    inspect_image(jpeg, "image/jpeg")  # the forkserver itself may start first

    def refuse(*args, **kwargs):
        raise AssertionError("verification started a subprocess")

    monkeypatch.setattr(subprocess, "Popen", refuse)
    result = inspect_image(jpeg, "image/jpeg")
    assert (result.ok, result.width, result.height) == (True, 64, 48)


def test_every_file_gets_a_child_that_has_run_nothing_before():
    def run(**limits):
        return run_sandboxed(
            verification_jobs.pid, {}, memory_bytes=1024 * MIB, timeout=30, **limits
        )

    render_child = run(max_jobs=100)  # kept idle for more renders
    fresh = {run(max_jobs=1, fresh=True) for _ in range(3)}
    assert render_child not in fresh and len(fresh) == 3


def test_the_child_runs_under_its_memory_cpu_and_core_limits(jpeg, entry_point):
    entry_point(verification_jobs.report_limits)
    result = inspect_image(jpeg, "image/jpeg", memory_bytes=900 * MIB, timeout_seconds=5)
    assert result.exif == {"as": [900 * MIB] * 2, "cpu": [10, 11], "core": [0, 0]}


def test_a_child_that_crashes_is_reported_and_the_next_file_verifies(jpeg, entry_point):
    entry_point(verification_jobs.crash)
    assert inspect_image(jpeg, "image/jpeg").reason == "the decoder crashed (SIGSEGV)"
    entry_point(sandbox_child.run_forked)
    assert inspect_image(jpeg, "image/jpeg").ok


def test_a_native_allocation_failure_is_reported_as_over_the_memory_budget(jpeg, entry_point):
    entry_point(verification_jobs.abort_out_of_memory)
    reason = inspect_image(jpeg, "image/jpeg", memory_bytes=512 * MIB).reason
    assert reason == f"the decoder ran out of its memory budget ({512 * MIB:,} bytes)"


def test_a_child_that_dies_before_inspecting_is_the_sandboxs_fault(jpeg, entry_point):
    # Not the image's fault: processing hands the image back for a retry, no quarantine.
    entry_point(verification_jobs.die_before_inspecting)
    with pytest.raises(SandboxError, match="before inspecting the file"):
        inspect_image(jpeg, "image/jpeg")
