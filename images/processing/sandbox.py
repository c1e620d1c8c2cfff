"""Inspect an untrusted image by decoding it in a resource-limited child process.

Decoders for a dozen formats are a large attack surface, and a small file can claim a huge
canvas. The child (``sandbox_child.run_forked``) caps its own address space and CPU time
before touching the file, so a bomb or a decoder bug costs one short-lived process, never the
worker. Every file gets a fresh child forked from the lean verification forkserver
(images/processing/forkserver.py), which has Pillow and every plugin imported and nothing
else: a fork costs about a millisecond of CPU where a new interpreter and its imports cost
~80-190 ms (docs/benchmarks.md, Verification).

No Django here: the worker passes its settings in as arguments.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
import tempfile
from dataclasses import dataclass, field

from images.processing import sandbox_child
from images.processing.forkserver import ChildDied, ChildTimeout, run_fresh
from images.processing.sandbox_child import looks_like_memory

DEFAULT_MAX_PIXELS = 250_000_000
# Address space (RLIMIT_AS), not resident memory. Measured with the child on CPython 3.11 /
# Pillow 13 / x86-64: a tiny image decodes under a cap of ~61 MiB (JPEG) to ~90 MiB (JPEG XL),
# and decoding then needs per pixel ~4 B for JPEG/PNG/TIFF/BMP, ~10.4 B for HEIC, ~12 B for
# AVIF, ~12-15.5 B for JPEG XL and ~16-17 B for WebP. A 15800x15800 (249.6 MP) WebP peaked at
# 3.81 GiB, so an RGBA WebP at the 250 MP default needs ~4.05 GiB; 4.5 GiB leaves ~10%
# headroom. Under 3 GiB every format but WebP and JPEG XL still decodes at 250 MP; WebP stops
# near 180 MP and is reported as over its memory budget. A child forked from the lean
# forkserver starts with ~70 MiB mapped, about what the command-line child maps once its
# libraries are loaded: noise against the default.
DEFAULT_MEMORY_BYTES = 4608 * 1024**2
DEFAULT_TIMEOUT_SECONDS = 60.0
# The decoders run at most two threads (sandbox_child.DECODER_THREADS), so CPU time can grow
# at twice wall time. The wall-clock timeout is the real deadline; RLIMIT_CPU only stops a
# child that outlives a parent killed before it could reap it.
_CPU_SECONDS_PER_WALL_SECOND = 2


class SandboxError(RuntimeError):
    """The sandbox could not run (missing library, missing file, broken interpreter).

    Says nothing about the image: retry later instead of refusing the upload."""


@dataclass(frozen=True)
class Inspection:
    ok: bool
    reason: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0
    frames: int = 1
    is_animated: bool = False
    has_alpha: bool = False
    orientation: int = 1
    exif: dict = field(default_factory=dict)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _from_crash(returncode: int, stderr: str, memory_bytes: int, cpu_seconds: int) -> Inspection:
    if looks_like_memory(stderr):
        return Inspection(
            ok=False, reason=f"the decoder ran out of its memory budget ({memory_bytes:,} bytes)"
        )
    if returncode < 0:
        number = -returncode
        if number == signal.SIGXCPU:
            return Inspection(
                ok=False, reason=f"decoding used more than {cpu_seconds} seconds of CPU time"
            )
        if number == signal.SIGKILL:
            return Inspection(
                ok=False,
                reason="the decoder was killed (SIGKILL), most likely for exceeding its "
                "memory or CPU budget",
            )
        return Inspection(ok=False, reason=f"the decoder crashed ({_signal_name(number)})")
    last_line = stderr.strip().splitlines()[-1:] or ["no output"]
    if "No module named" in last_line[0]:
        raise SandboxError(f"the image sandbox could not start: {last_line[0]}")
    return Inspection(
        ok=False, reason=f"the decoder crashed (exit status {returncode}: {last_line[0][:200]})"
    )


def _read_log(path: str) -> tuple[bool, str]:
    """(whether the child reached the inspection, what it printed)."""
    try:
        with open(path, "rb") as log:
            text = log.read(64 * 1024).decode("utf-8", "replace")
    except OSError:
        return False, ""
    started = text.startswith(sandbox_child.STARTED_MARK)
    return started, text[len(sandbox_child.STARTED_MARK) :] if started else text


def _from_line(line) -> Inspection:
    try:
        result = json.loads(line)
    except (TypeError, json.JSONDecodeError):
        result = None
    if not isinstance(result, dict) or not isinstance(result.get("ok"), bool):
        raise SandboxError(f"the image sandbox answered something unreadable: {line!r:.200}")
    if result.get("fault"):
        raise SandboxError(f"the image sandbox failed: {result.get('reason')}")
    if not result["ok"]:
        return Inspection(ok=False, reason=str(result.get("reason") or "the image was refused"))
    return Inspection(
        ok=True,
        mime_type=result["mime_type"],
        width=int(result["width"]),
        height=int(result["height"]),
        frames=int(result["frames"]),
        is_animated=bool(result["is_animated"]),
        has_alpha=bool(result["has_alpha"]),
        orientation=int(result["orientation"]),
        exif=dict(result.get("exif") or {}),
    )


def inspect_image(
    path: str,
    declared_mime: str,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    memory_bytes: int = DEFAULT_MEMORY_BYTES,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> Inspection:
    """Decode the image at ``path`` in a sandboxed child and describe it.

    Refusals (wrong type, too large, corrupt, over budget, too slow) come back as
    ``Inspection(ok=False, reason=...)``. Raises ``SandboxError`` only when the sandbox itself
    is broken. Safe to call from several threads at once: every call is its own process.
    """
    cpu_seconds = max(1, math.ceil(timeout_seconds * _CPU_SECONDS_PER_WALL_SECOND))
    descriptor, log_path = tempfile.mkstemp(prefix="imgwire-verify-", suffix=".log")
    os.close(descriptor)
    request = {
        "path": os.path.abspath(path),
        "declared_mime": declared_mime,
        "max_pixels": int(max_pixels),
        "memory_bytes": int(memory_bytes),
        "cpu_seconds": cpu_seconds,
        "log_path": log_path,
    }
    try:
        line = run_fresh(sandbox_child.run_forked, request, timeout=timeout_seconds)
    except ChildTimeout:
        return Inspection(ok=False, reason=f"decoding took longer than {timeout_seconds:g} seconds")
    except ChildDied as died:
        started, output = _read_log(log_path)
        if died.exitcode is None:
            raise SandboxError(f"the image sandbox failed: {died}") from None
        if not started:
            raise SandboxError(
                f"the image sandbox child died before inspecting the file "
                f"(exit status {died.exitcode}): {output.strip()[-300:] or 'no output'}"
            ) from None
        return _from_crash(died.exitcode, output, memory_bytes, cpu_seconds)
    except OSError as error:  # out of processes, or the forkserver could not start
        raise SandboxError(f"the image sandbox could not start: {error}") from error
    finally:
        with contextlib.suppress(OSError):
            os.unlink(log_path)
    return _from_line(line)
