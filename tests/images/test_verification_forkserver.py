"""Verification runs each file in a fresh child (of the lean verification forkserver,
images/processing/forkserver.py), with its limits; ``run_sandboxed(fresh=True)`` of the
render forkserver still gives a never-used child (bench/verification.py compares them)."""

import io
import subprocess
import types

import pytest
from PIL import Image as PILImage

from images.delivery.sandbox import run_sandboxed
from images.processing import sandbox, sandbox_child
from images.processing.coverage import data_shortfall, reduce_decode
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


def jpeg_bytes(picture, **options) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", **options)
    return buffer.getvalue()


def test_a_jpeg_is_decoded_at_an_eighth_of_its_size_for_verification():
    # Verification needs the compressed data decoded to its end, not full-size pixels.
    data = jpeg_bytes(PILImage.effect_noise((640, 480), 60).convert("RGB"))
    _, later = data_shortfall("JPEG", data)
    with PILImage.open(io.BytesIO(data)) as image:
        reduce_decode(image, later)
        image.load()
        assert image.size == (80, 60)


def test_a_flat_grey_jpeg_cut_short_and_closed_with_an_end_marker_is_refused(tmp_path):
    # Decoded at full size, the encoder's rounding around #808080 hid libjpeg's grey padding
    # from the check; at 1/8 every block's mean is exact, and the cut is found.
    data = jpeg_bytes(PILImage.new("L", (1001, 777), 128))
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) * 99 // 100] + b"\xff\xd9")
    result = inspect_image(str(path), "image/jpeg")
    assert (result.ok, result.reason) == (
        False,
        "the JPEG's compressed data ends before its 1001x777 frame does: the decoder filled "
        "the rest in grey",
    )
