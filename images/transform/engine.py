"""The transformation engine: render a stored original for a canonical ``Transform``.

Order of operations (each stage only when the transform asks for it):

1. **Format**: ``choose_format`` (``format``, else ``Accept`` negotiation; see negotiate.py).
2. **Open** with Imgwire's accepted openers only (``ACCEPTED_PIL_FORMATS``); read the EXIF
   orientation, the ICC profile and, for ``keep_copyright``, the EXIF block.
3. **Plan from the header**: the geometry is planned on the logical size (after orientation
   and ``rotate``) before any pixel is decoded, which rejects over-limit requests cheaply and
   gives the detail the output needs.
4. **Shrink on load**: a JPEG is decoded at 1/2, 1/4 or 1/8 scale with ``draft()`` when the
   output still gets at least one decoded pixel per output pixel; any other source that is
   4x or more larger than needed is ``reduce()``d by an integer factor (leaving >= 2x for the
   final filter).
5. **Decode and normalise** to RGB/RGBA (color.py). **EXIF orientation** (the transposes of
   ``ImageOps.exif_transpose``) comes before every geometry decision, so ``width=300`` of a
   portrait photo is portrait; with right-angle ``rotate`` and ``flip`` it is composed into
   one transpose applied to the cut-and-resized window instead of the source (orient.py).
6. **Geometry** (geometry.py): rotate (clockwise, any angle, background), flip, crop/extract,
   zoom, resize with dpr/min sizes/resizing type/enlarge/algorithm, gravity including
   ``attention``, ``entropy`` and ``custom`` (the image's focus area; focus.py), contain
   canvas, extend, extend_aspect_ratio, padding. Crop and resize are one ``resize(box=...)``.
7. **Colour profile**: non-sRGB RGB profiles converted to sRGB (unless ``keep``).
8. **Effects** (effects.py): background flattening, blur, sharpen, pixelate, brightness,
   lightness, saturation, hue, adjust, contrast, colorize, duotone, monochrome, negate,
   normalize, gradient.
9. **Watermark** (watermark.py): image or text, sized, rotated, shadowed, placed, blended.
10. **Encode** (output.py): format options, quality (``auto``: JPEG 80, WebP 78, AVIF 60),
    progressive, chroma subsampling, dpi; no source metadata except ``keep_copyright``'s
    Copyright/Artist; alpha flattened onto ``background`` (white) for JPEG.

Animated GIF/WebP/AVIF sources stay animated when the output format can carry it (GIF, WebP,
AVIF): the first ``max_frames`` frames are each run through stages 5-9 with one plan and
one watermark (so a content-aware crop does not jump), keeping durations and loop count.
Other outputs get the first frame. Limits: at most 8192 px per side and ``max_output_pixels``
(over all frames of an animation; decoding at most ``DECODE_BUDGET`` times that) - checked
on planned sizes before allocating - else ``RenderError(400)``. Decoding failures are
``RenderError(500)``, running out of memory ``RenderError(503)``.
"""

from __future__ import annotations

import contextlib
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, BinaryIO

from PIL import ExifTags, Image, ImageCms, ImageSequence
from PIL.JpegImagePlugin import JpegImageFile

from images.processing.formats import ACCEPTED_PIL_FORMATS

from . import color, effects, focus, geometry, orient, output, watermark
from .limits import MAX_SIDE, Limits, RenderError
from .negotiate import FORMATS, choose_format
from .watermark import WatermarkRequest

__all__ = ["RenderError", "Rendered", "SourceInfo", "WatermarkRequest", "choose_format", "render"]

# What the final filter should still have to shrink after reduce(): keeps Lanczos' quality.
REDUCE_GAP = 2.0
# Animations decode every frame whatever the output size: at most this many times the
# output area limit in source pixels (a few seconds of work at worst).
DECODE_BUDGET = 4


@dataclass(frozen=True)
class SourceInfo:
    """What Imgwire knows about the stored original. Format negotiation reads
    ``is_animated``/``has_alpha``; the pixels follow the file itself (its EXIF orientation,
    which HEIF and AVIF decoders have already applied), so ``orientation`` is informational."""

    mime_type: str
    width: int  # as stored, before EXIF orientation
    height: int
    orientation: int = 1
    is_animated: bool = False
    has_alpha: bool = False
    # The image's focus area for gravity=custom: "x,y,w,h" in pixels of the picture as
    # displayed (EXIF orientation applied), or "" (focus.py).
    focus: str = ""


@dataclass(frozen=True)
class Rendered:
    data: bytes
    content_type: str
    width: int
    height: int
    negotiated: bool  # the format came from format=auto: answer with Vary: Accept


@cache
def _openers() -> tuple[str, ...]:
    import pillow_heif
    import pillow_jxl  # noqa: F401  (registers the JXL opener)

    Image.init()
    if "HEIF" not in Image.OPEN:  # the decode sandbox registers it with its own options
        pillow_heif.register_heif_opener(thumbnails=False, depth_images=False, aux_images=False)
    return tuple(name for name in ACCEPTED_PIL_FORMATS if name in Image.OPEN)


def _orientation(exif: Image.Exif) -> int:
    value = exif.get(ExifTags.Base.Orientation, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _locator(
    image: Image.Image, method: Any, fx: float, fy: float, custom: tuple[float, float] | None
) -> geometry.Locate:
    view: list[Image.Image] = []

    def locate(region: geometry.Box, w: float, h: float, gravity: str) -> tuple[float, float]:
        if gravity == "custom":  # logical pixels already: no pixels to look at
            return focus.custom_window(custom, region, w, h)
        if not view:  # focus looks at the logical picture: transpose only when asked
            view.append(image.transpose(method) if method is not None else image)
        left, top, rw, rh = region
        scaled = (left * fx, top * fy, rw * fx, rh * fy)
        x, y = focus.find_window(view[0], scaled, w * fx, h * fy, gravity)
        return x / fx, y / fy

    return locate


@dataclass
class _Job:
    params: Any
    fmt: str
    limits: Limits
    loader: Callable[[WatermarkRequest], Image.Image] | None
    stored: tuple[int, int]  # the source's size before draft
    logical: tuple[float, float]  # after orientation and rotate
    orientation: int
    icc: bytes | None
    need: float  # output pixels per logical pixel
    custom: tuple[float, float] | None = None  # the focus area's centre, logical pixels
    plan: geometry.Plan | None = None
    mark: watermark.Mark | None = None

    @property
    def method(self) -> Any:
        """The one transpose for orientation, a right-angle rotate and flip; ``...`` when
        rotate is another angle (then orientation goes first and rotate/flip after it)."""
        rotate, flip = self.params.get("rotate"), self.params.get("flip")
        angle = rotate.angle if rotate is not None else 0.0
        if angle and angle not in orient.CLOCKWISE:
            return ...
        mirror = (
            Image.Transpose.FLIP_LEFT_RIGHT if flip and flip.horizontal else None,
            Image.Transpose.FLIP_TOP_BOTTOM if flip and flip.vertical else None,
        )
        return orient.compose(
            orient.EXIF.get(self.orientation), orient.CLOCKWISE.get(angle), *mirror
        )

    def frame(self, frame: Image.Image) -> Image.Image:
        work = color.normalise(frame, self.icc)
        method = self.method
        surplus = min(work.width / self.stored[0], work.height / self.stored[1])
        factor = math.floor(surplus / (self.need * REDUCE_GAP))
        if factor >= 2:
            work = work.reduce(factor)
        if method is ...:
            if self.orientation in orient.EXIF:
                work = work.transpose(orient.EXIF[self.orientation])
            work, method = geometry.turn(work, self.params), None
        shown = (work.height, work.width) if method in orient.SWAPS else work.size
        fx, fy = shown[0] / self.logical[0], shown[1] / self.logical[1]
        if self.plan is None:
            locate = _locator(work, method, fx, fy, self.custom)
            self.plan = geometry.plan(self.logical, self.params, self.limits, locate)
            self.mark = watermark.prepare(self.params, self.plan.final, self.loader, self.limits)
        work = geometry.apply(work, self.plan, fx, fy, method)
        work = color.to_srgb(work, self.icc, self.params)
        work = effects.apply(work, self.params)
        if self.mark is not None:
            work = watermark.apply(work, self.mark)
        return output.prepare(work, self.fmt, self.params)


def _render(
    image: Image.Image, info: SourceInfo, params: Any, fmt: str, limits: Limits, loader: Any
) -> tuple[list[Image.Image], list[int], int | None, bytes | None, Image.Exif]:
    exif = image.getexif()
    orientation = _orientation(exif)
    icc = image.info.get("icc_profile") or None
    stored = image.size
    width, height = stored
    if orientation >= 5:
        width, height = height, width
    rotate = params.get("rotate")
    logical = geometry.rotated_size(width, height, rotate.angle if rotate else 0.0)
    estimate = geometry.plan(logical, params, limits)
    need = min(estimate.scale, 1.0)
    animated = (
        info.is_animated
        and FORMATS[fmt].animated
        and getattr(image, "is_animated", False)
        and image.format != "MPO"
    )
    frames = min(getattr(image, "n_frames", 1), limits.max_frames) if animated else 1
    limits.check(*estimate.final, "animation" if animated else "output", frames=frames)
    decoded = frames * image.width * image.height
    if animated and decoded > DECODE_BUDGET * limits.max_pixels:
        raise RenderError(
            400,
            f"the animation has {frames} frames of {image.width}x{image.height} = {decoded:,} "
            f"pixels to decode, over the limit of {DECODE_BUDGET * limits.max_pixels:,}; "
            "ask for a still format (jpeg or png) to get its first frame",
        )
    if isinstance(image, JpegImageFile) and need < 1.0:
        image.draft(None, (math.ceil(image.width * need), math.ceil(image.height * need)))
    job = _Job(params, fmt, limits, loader, stored, logical, orientation, icc, need)
    if focus.uses_custom(params):
        flip = params.get("flip")
        job.custom = focus.custom_center(
            focus.parse_coordinates(info.focus),
            (width, height),
            rotate.angle if rotate else 0.0,
            (bool(flip and flip.horizontal), bool(flip and flip.vertical)),
        )
    if not animated:
        return [job.frame(image)], [], None, icc, exif
    out, durations = [], []
    for index, frame in enumerate(ImageSequence.Iterator(image)):
        if index >= frames:
            break
        durations.append(int(frame.info.get("duration", 0) or 0))
        rendered = job.frame(frame)
        out.append(rendered.copy() if rendered is image else rendered)  # seeking reuses it
    loop = image.info.get("loop")  # absent: play once
    return out, durations, loop if isinstance(loop, int) else None, icc, exif


def render(
    source: BinaryIO | str | Image.Image,
    info: SourceInfo,
    transform: Any,
    *,
    accept: str | None = None,
    watermark_loader: Callable[[WatermarkRequest], Image.Image] | None = None,
    max_output_pixels: int = 50_000_000,
    max_frames: int = 100,
) -> Rendered:
    """Render ``source`` (a path or binary file of the stored original, or an image already
    decoded, which is left open) for ``transform``."""
    params = transform.params
    fmt, negotiated = choose_format(transform, info, accept)
    limits = Limits(max_output_pixels, MAX_SIDE, max_frames)
    try:
        if isinstance(source, Image.Image):
            opened = contextlib.nullcontext(source)
        else:
            opened = Image.open(source, formats=_openers())
        with opened as image:
            frames, durations, loop, icc, exif = _render(
                image, info, params, fmt, limits, watermark_loader
            )
            kept = output.copyright_exif(exif) if params.get("keep_copyright") else None
            data = output.encode(
                frames,
                fmt,
                params,
                durations=durations,
                loop=loop,
                icc=color.output_profile(icc, params, frames[0].mode),
                exif=kept,
            )
    except RenderError:
        raise
    except MemoryError:
        raise RenderError(503, "the render needs more memory than its budget") from None
    except Image.DecompressionBombError as exc:
        raise RenderError(500, f"the stored image is too large to render: {exc}") from None
    except (OSError, ValueError, SyntaxError, EOFError, struct.error, ImageCms.PyCMSError) as exc:
        raise RenderError(500, f"the image could not be rendered: {exc}") from None
    return Rendered(
        data=data,
        content_type=FORMATS[fmt].mime,
        width=frames[0].width,
        height=frames[0].height,
        negotiated=negotiated,
    )
