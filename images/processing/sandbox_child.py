"""Decode one untrusted image inside resource limits and describe it as one line of JSON.

``images.processing.sandbox.inspect_image`` runs ``run_forked`` in a fresh child of the lean
verification forkserver (``images.processing.forkserver``); ``python -m
images.processing.sandbox_child '<request json>'`` (or the request on stdin) does the same in
a new interpreter. The request is
``{"path", "declared_mime", "max_pixels", "memory_bytes", "cpu_seconds"}`` (plus
``log_path`` when forked). The result is exactly one JSON object, ``{"ok": true, ...}`` or
``{"ok": false, "reason": ...}``: returned by ``run_forked``, printed on stdout by ``main``.

This module must not import Django: it runs in a bare interpreter whose address space is capped
before any image library is loaded.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import resource
import sys

from images.processing import exif, headers
from images.processing.headers import Refusal

# Image decoders spread work over threads; every thread costs a stack in the capped address
# space and CPU time against RLIMIT_CPU, so keep the count independent of the host's cores.
DECODER_THREADS = 2

_ANIMATED_FORMATS = frozenset({"GIF", "PNG", "WEBP", "AVIF", "JXL"})

# How native decoders word a failed allocation (libavif, libheif, Rust's alloc handler, C++).
_MEMORY_WORDS = (
    "out of memory", "memory allocation", "allocation failed", "allocating",
    "cannot allocate memory", "bad_alloc", "failed to map segment", "memoryerror",
)  # fmt: skip


def looks_like_memory(text: str) -> bool:
    text = text.lower()
    return any(words in text for words in _MEMORY_WORDS)


class SandboxFault(Exception):
    """The sandbox itself is broken (missing library, missing file): not the image's fault."""


def limit_resources(memory_bytes: int, cpu_seconds: int) -> None:
    # Measured on Linux x86-64 / CPython 3.11 / Pillow 13, MALLOC_ARENA_MAX=2 (set by the
    # parent): after importing Pillow, pillow_heif and pillow_jxl the child maps ~70 MiB, and
    # the smallest cap under which a tiny image still decodes is ~61 MiB for JPEG/PNG/GIF,
    # ~63-72 MiB for BMP/TIFF/ICO/WebP/AVIF, ~78 MiB for HEIC and ~90 MiB for JPEG XL (its
    # thread pool). Uncapped, libheif reserves up to ~210 MiB but copes with less. Pixels then
    # cost ~4 B each for JPEG/PNG/TIFF/BMP, ~10.4 B HEIC, ~12 B AVIF, ~12-15.5 B JPEG XL and
    # ~16-17 B WebP (Pillow keeps libwebp's canvases beside its own). sandbox.py picks the
    # default from these.
    # Soft limit sends SIGXCPU; the hard limit one second later is a SIGKILL backstop.
    for kind, soft, hard in (
        (resource.RLIMIT_AS, memory_bytes, memory_bytes),
        (resource.RLIMIT_CPU, cpu_seconds, cpu_seconds + 1),
        (resource.RLIMIT_CORE, 0, 0),
    ):
        # A container may already impose a lower hard limit, which cannot be raised.
        ceiling = resource.getrlimit(kind)[1]
        if ceiling != resource.RLIM_INFINITY:
            soft, hard = min(soft, ceiling), min(hard, ceiling)
        resource.setrlimit(kind, (soft, hard))


# The libraries _load_pillow imports, once per process. A child forked from a forkserver
# finds them here (the server's warm-up loaded them): importing them again, even from
# sys.modules, and registering the HEIF opener again cost every child ~50 more
# copy-on-write faults and ~0.1 ms (of a 200 KB JPEG's ~5.5 ms of CPU).
_pillow: tuple | None = None
_HEIF_OPTIONS = {
    "decode_threads": DECODER_THREADS, "thumbnails": False, "depth_images": False,
    "aux_images": False,
}  # fmt: skip


def _heif_registered(pillow_heif, image_module) -> bool:
    """Whether pillow_heif's opener is registered with _HEIF_OPTIONS already (by the
    forkserver, before it forked this child); other code in the process may have registered
    it with its own options."""
    options = pillow_heif.options
    opener = image_module.OPEN.get(pillow_heif.HeifImageFile.format)
    current = {
        "decode_threads": options.DECODE_THREADS, "thumbnails": options.THUMBNAILS,
        "depth_images": options.DEPTH_IMAGES, "aux_images": options.AUX_IMAGES,
    }  # fmt: skip
    registered = opener is not None and opener[0] is pillow_heif.HeifImageFile
    return registered and current == _HEIF_OPTIONS


def _load_pillow(max_pixels: int):
    global _pillow
    from images.processing.limits import apply_pixel_limit

    if _pillow is None:
        try:
            import pillow_heif
            import pillow_jxl  # noqa: F401  (registers the JXL opener)
            from PIL import AvifImagePlugin, Image, ImageFile
            from pillow_jxl import JpegXLImagePlugin
        except ImportError as exc:
            # Under a small RLIMIT_AS the dynamic loader fails to map a library's segments.
            if looks_like_memory(str(exc)):
                raise MemoryError(str(exc)) from exc
            raise SandboxFault(f"an image library is missing from the sandbox: {exc}") from exc
        _pillow = (pillow_heif, AvifImagePlugin, Image, ImageFile, JpegXLImagePlugin)
    pillow_heif, AvifImagePlugin, Image, ImageFile, JpegXLImagePlugin = _pillow

    if not _heif_registered(pillow_heif, Image):
        pillow_heif.register_heif_opener(**_HEIF_OPTIONS)
    AvifImagePlugin.DEFAULT_MAX_THREADS = DECODER_THREADS
    JpegXLImagePlugin.DECODE_THREADS = DECODER_THREADS
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    # The same limit every process that opens our images holds to; here over it is a refusal.
    apply_pixel_limit(max_pixels, refuse_over=True)
    return Image


def inspect(path: str, declared_mime: str, max_pixels: int) -> dict:
    from images.processing.coverage import data_shortfall, decoded_shortfall, reduce_decode
    from images.processing.formats import ACCEPTED_PIL_FORMATS, PIL_FORMAT_TO_MIME

    Image = _load_pillow(max_pixels)
    if not os.path.isfile(path):
        raise SandboxFault(f"the file to inspect does not exist: {path}")
    with open(path, "rb") as handle:
        data = handle.read()
    if data[:2] == b"\xff\x0a" or data[:12] == headers.JXL_CONTAINER:
        if declared_mime != "image/jxl":
            raise Refusal(f"the bytes are image/jxl but the upload declared {declared_mime}")
        headers.too_many_pixels(*headers.jxl_dimensions(data), max_pixels)

    try:
        image = Image.open(path, formats=ACCEPTED_PIL_FORMATS)
    except Image.UnidentifiedImageError:
        raise Refusal(
            f"the bytes are not an image in any accepted format (the upload declared "
            f"{declared_mime})"
        ) from None
    with image:
        mime = PIL_FORMAT_TO_MIME.get(image.format or "")
        if mime is None:
            raise Refusal(f"the bytes are {image.format} images, which are not accepted")
        if mime != declared_mime:
            raise Refusal(f"the bytes are {mime} but the upload declared {declared_mime}")
        width, height = image.size
        headers.too_many_pixels(width, height, max_pixels)
        frames = headers.frame_count(image, data, max_pixels)
        # Decoders pad data that ends early; a header must not claim pixels the file lacks.
        short, later = data_shortfall(image.format or "", data)
        if short:
            raise Refusal(short)
        del data  # Pillow reads the file itself; leave the whole budget to the decoder.
        try:
            readable, orientation = exif.readable_exif(image), exif.orientation(image)
        except Exception:
            # Broken metadata does not make the pixels unusable.
            readable, orientation = {}, 1
        if image.format == "TIFF" and orientation >= 5:
            # Pillow reports a TIFF's size already turned by its Orientation tag (and turns the
            # pixels while loading); report it as stored, like every other format.
            width, height = height, width

        has_alpha, decoded = False, 0
        for index in range(frames):
            if index:
                image.seek(index)
            decoded += image.size[0] * image.size[1]
            headers.over_budget(decoded, max_pixels)
            if not index:
                reduce_decode(image, later)
            image.load()
            if not index and (short := decoded_shortfall(image, path, later)):
                raise Refusal(short)
            # ICO and GIF can grow the canvas while loading; hold them to the same budget.
            headers.too_many_pixels(*image.size, max_pixels)
            has_alpha = has_alpha or image.has_transparency_data
    animated = frames > 1 and image.format in _ANIMATED_FORMATS
    return {
        "ok": True, "mime_type": mime, "width": width, "height": height, "frames": frames,
        "is_animated": animated, "has_alpha": bool(has_alpha), "orientation": orientation,
        "exif": readable,
    }  # fmt: skip


def _one_line(exc: BaseException) -> str:
    return (" ".join(str(exc).split()) or type(exc).__name__)[:300]


def describe_failure(exc: BaseException, memory_bytes: int, max_pixels: int) -> dict:
    if isinstance(exc, Refusal):
        return {"ok": False, "reason": str(exc)}
    if isinstance(exc, SandboxFault):
        return {"ok": False, "fault": True, "reason": str(exc)}
    if isinstance(exc, MemoryError) or looks_like_memory(str(exc)):
        budget = f"{memory_bytes:,} bytes"
        return {"ok": False, "reason": f"the decoder ran out of its memory budget ({budget})"}
    from PIL import Image

    if isinstance(exc, Image.DecompressionBombError | Image.DecompressionBombWarning):
        # Pillow raises in Image.open, before the size is ours to read, and quotes its own
        # threshold (twice the limit); keep only the pixel count.
        claimed = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = f"{int(claimed[1]):,} pixels" if claimed else "more pixels"
        reason = f"the image is {pixels}, over the limit of {max_pixels:,}"
    elif isinstance(exc, EOFError) or "truncated" in str(exc).lower():
        reason = f"the file is truncated: {_one_line(exc)}"
    elif isinstance(exc, OSError | SyntaxError | ValueError | RuntimeError | IndexError):
        reason = f"the image data is corrupt or unsupported: {_one_line(exc)}"
    else:
        reason = f"the image could not be decoded ({type(exc).__name__}: {_one_line(exc)})"
    return {"ok": False, "reason": reason}


def _validate(request) -> dict:
    if not isinstance(request, dict):
        raise ValueError("the request must be a JSON object")
    for key in ("path", "declared_mime"):
        if not isinstance(request.get(key), str):
            raise ValueError(f"{key} must be a string")
    for key in ("max_pixels", "memory_bytes", "cpu_seconds"):
        if not isinstance(request.get(key), int) or request[key] < 1:
            raise ValueError(f"{key} must be a positive integer")
    return request


def _read_request() -> dict:
    raw = sys.argv[1] if len(sys.argv) > 1 else sys.stdin.read()
    return _validate(json.loads(raw))


def run(request: dict) -> dict:
    """Cap this process, then inspect; every outcome, refusal or fault is a result dict."""
    try:
        limit_resources(request["memory_bytes"], request["cpu_seconds"])
    except (OSError, ValueError) as exc:
        return {"ok": False, "fault": True, "reason": f"cannot set resource limits: {exc}"}
    try:
        return inspect(request["path"], request["declared_mime"], request["max_pixels"])
    except Exception as exc:
        try:
            return describe_failure(exc, request["memory_bytes"], request["max_pixels"])
        except MemoryError:
            return describe_failure(MemoryError(), request["memory_bytes"], 0)
        except Exception:
            return {"ok": False, "reason": f"the image could not be decoded ({exc!r})"}


def _result_line(result: dict) -> str:
    try:
        return json.dumps(result, ensure_ascii=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return json.dumps({"ok": False, "reason": f"the image metadata is unreadable: {exc}"})


# Written to the log first, so the parent can tell a child that died inspecting an image
# (the image's fault) from one that never got that far (the sandbox's).
STARTED_MARK = "imgwire-sandbox: inspecting\n"
_M_ARENA_MAX = -8  # glibc's mallopt parameter
# Looked up at import, so that a forkserver, not every child, pays for it: ctypes builds a
# class per library and resolves a name on first use, in Python, on pages a child would
# otherwise copy.
try:
    _mallopt = ctypes.CDLL(None).mallopt
except (OSError, AttributeError):  # not glibc
    _mallopt = None


def _limit_malloc_arenas() -> None:
    # What MALLOC_ARENA_MAX=2 in the environment does (the lean forkserver starts with it;
    # the render forkserver, which can run this too, does not): glibc reserves 64 MiB of
    # address space per thread arena (8 per core), which RLIMIT_AS counts; two keep the cap
    # measuring what the decoder uses.
    if _mallopt is not None:
        _mallopt(_M_ARENA_MAX, 2)


def run_forked(request: dict) -> str:
    """The entry point in a child forked from the lean forkserver (images/processing/
    forkserver_server.py runs it once per child): the line the command-line child would print.

    Pillow and its plugins are imported already; whatever a native library prints, and a
    dying child's last words, go to ``request["log_path"]``, which the parent reads after a
    crash (the forkserver's own stdout and stderr are the server's).
    """
    log = os.open(request["log_path"], os.O_WRONLY | os.O_APPEND)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.write(2, STARTED_MARK.encode())
    _limit_malloc_arenas()
    try:
        request = _validate(request)
    except ValueError as exc:
        return _result_line({"ok": False, "fault": True, "reason": f"malformed request: {exc}"})
    return _result_line(run(request))


def main() -> int:
    # Whatever a native library prints must not corrupt the one JSON line: the result goes to
    # a private copy of stdout, and fd 1 is pointed at stderr for everything else.
    result_fd = os.dup(1)
    os.dup2(2, 1)
    try:
        request = _read_request()
    except (ValueError, TypeError) as exc:
        result = {"ok": False, "fault": True, "reason": f"malformed sandbox request: {exc}"}
    else:
        result = run(request)
    os.write(result_fd, (_result_line(result) + "\n").encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
