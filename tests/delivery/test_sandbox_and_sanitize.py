import io
import os

import pytest
from PIL import Image

from images.delivery.sandbox import SandboxFailure, retire_idle_children, run_sandboxed
from images.delivery.sanitize import strip_metadata
from tests import imagegen
from tests.delivery import sandbox_jobs

MIB = 1024 * 1024


def test_a_sandboxed_function_returns_its_result():
    assert run_sandboxed(sandbox_jobs.echo, {"value": 7}, memory_bytes=1024 * MIB, timeout=30) == {
        "echo": 7
    }


@pytest.fixture(autouse=True)
def no_idle_children():
    """Each test starts without children left idle by another (with other max_jobs)."""
    retire_idle_children()
    yield
    retire_idle_children()


def remember(value, max_jobs, memory_bytes=1024 * MIB):
    return run_sandboxed(
        sandbox_jobs.remember,
        {"value": value},
        memory_bytes=memory_bytes,
        timeout=30,
        max_jobs=max_jobs,
    )


def test_with_one_job_per_child_every_job_gets_a_fresh_process_with_its_own_cap():
    # Children are forked ahead of their job; no job sees what an earlier one left behind.
    caps = (700 * MIB, 900 * MIB, 800 * MIB)
    results = [remember(i, 1, cap) for i, cap in enumerate(caps)]
    assert [r["memory_cap"] for r in results] == list(caps)
    assert [r["seen"] for r in results] == [[], [], []]
    assert len({r["pid"] for r in results} | {os.getpid()}) == 4


def test_a_child_serves_max_jobs_renders_each_under_its_own_cap_then_retires():
    caps = (700 * MIB, 900 * MIB, 800 * MIB, 600 * MIB)
    results = [remember(i, 3, cap) for i, cap in enumerate(caps)]
    assert [r["memory_cap"] for r in results] == list(caps)
    assert [r["seen"] for r in results] == [[], [0], [0, 1], []]
    assert len({r["pid"] for r in results[:3]}) == 1
    assert results[3]["pid"] != results[0]["pid"]


@pytest.mark.parametrize(
    ("job", "payload", "memory_bytes", "timeout", "status"),
    [
        (sandbox_jobs.allocate, {"bytes": 2048 * MIB}, 512 * MIB, 30, 503),
        (sandbox_jobs.crash, {}, 1024 * MIB, 30, 503),
        (sandbox_jobs.spin, {"seconds": 30}, 1024 * MIB, 0.5, 504),
    ],
    ids=["out-of-memory", "crash", "deadline"],
)
def test_a_child_whose_job_failed_is_never_reused(job, payload, memory_bytes, timeout, status):
    before = remember("before", 10)
    with pytest.raises(SandboxFailure) as failure:
        run_sandboxed(job, payload, memory_bytes=memory_bytes, timeout=timeout, max_jobs=10)
    assert failure.value.status == status
    after = remember("after", 10)
    assert after["pid"] != before["pid"]
    assert after["seen"] == []


def test_a_deliberate_refusal_keeps_the_child():
    before = remember("before", 10)
    with pytest.raises(SandboxFailure):
        run_sandboxed(sandbox_jobs.refuse, {}, memory_bytes=1024 * MIB, timeout=30, max_jobs=10)
    after = remember("after", 10)
    assert (after["pid"], after["seen"]) == (before["pid"], ["before"])


def test_a_render_over_its_memory_budget_fails_with_503_and_the_caller_survives():
    with pytest.raises(SandboxFailure) as failure:
        run_sandboxed(
            sandbox_jobs.allocate, {"bytes": 2048 * MIB}, memory_bytes=512 * MIB, timeout=30
        )
    assert failure.value.status == 503
    assert run_sandboxed(sandbox_jobs.echo, {"value": 1}, memory_bytes=1024 * MIB, timeout=30) == {
        "echo": 1
    }


def test_a_render_past_its_deadline_fails_with_504():
    with pytest.raises(SandboxFailure) as failure:
        run_sandboxed(sandbox_jobs.spin, {"seconds": 30}, memory_bytes=1024 * MIB, timeout=0.5)
    assert failure.value.status == 504


def test_a_refusal_inside_the_child_keeps_its_status_and_message():
    with pytest.raises(SandboxFailure) as failure:
        run_sandboxed(sandbox_jobs.refuse, {}, memory_bytes=1024 * MIB, timeout=30)
    assert (failure.value.status, failure.value.message) == (400, "width must be at most 8192")


def decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_a_jpeg_loses_gps_and_every_tag_but_its_orientation_losslessly():
    original = imagegen.jpeg(exif_gps=True, orientation=6)
    stripped = strip_metadata(original, "image/jpeg", 6)
    assert dict(decoded(stripped).getexif()) == {274: 6}
    assert decoded(stripped).tobytes() == decoded(original).tobytes()
    assert b"GPS" not in stripped and b"Make" not in stripped


@pytest.mark.parametrize(
    ("factory", "mime"),
    [
        (lambda: imagegen.photo("PNG"), "image/png"),
        (lambda: imagegen.photo("WEBP"), "image/webp"),
        (imagegen.gif_animated, "image/gif"),
    ],
)
def test_png_webp_and_gif_lose_their_metadata_and_keep_their_pixels(factory, mime):
    original = factory()
    stripped = strip_metadata(original, mime, 1)
    assert stripped is not None
    assert not decoded(stripped).getexif()
    before, after = decoded(original), decoded(stripped)
    assert before.size == after.size
    assert getattr(before, "n_frames", 1) == getattr(after, "n_frames", 1)
    assert before.convert("RGBA").tobytes() == after.convert("RGBA").tobytes()


@pytest.mark.parametrize("data", [b"", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n\x00", b"RIFF"])
def test_truncated_inputs_are_not_stripped_but_handed_back_for_a_re_encode(data):
    for mime in ("image/jpeg", "image/png", "image/webp", "image/gif"):
        assert strip_metadata(data, mime, 1) is None
