"""Watermarks: an Imgwire image, an https image, or text, drawn last on every frame.

The caller's ``watermark_loader`` turns a ``WatermarkRequest`` (kind ``image_id`` or
``url``) into a PIL image; ownership checks and fetching are its business, and it should
raise ``RenderError`` for a missing or forbidden image. Text is drawn here with Pillow's
bundled Aileron Regular (``ImageFont.load_default(size)``, a Latin subset: no system fonts
are assumed, and ``font`` is ignored so a URL can never name a file on the server).

Choices where delivery.md leaves room:

- Position: gravity (default ``center``; ``attention``/``entropy`` count as ``center``), then
  ``x``/``y``. On an axis where the gravity touches an edge, offsets count outwards from that
  edge, so negative values inset from the gravity corner (``southeast:-24:-24`` sits 24 px
  in from the bottom-right, ``northwest:-24:-24`` 24 px in from the top-left); on a centred
  axis they move right/down. ``left``/``top`` are absolute and override. ``watermark_position``
  overrides what the source value itself sets.
- Size: ``width``/``height`` fit the mark inside that box (ratio kept); ``scale`` alone makes
  it ``scale`` x the output width, with a box it multiplies the box. Without a size a mark
  larger than the output is shrunk to fit. Text ``width``/``height`` are a fitting box too.
- Text defaults: white, size 5% of the output's shorter side (at least 12 px), left-aligned.
- ``watermark_shadow=true`` is black at 50% alpha, blur 3, offset 3,3 (x right, y down).
- Order: size, rotate (clockwise), shadow, opacity, blend.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw, ImageFilter, ImageFont

from .blend import composite
from .color import normalise
from .geometry import COMPASS, with_alpha
from .limits import Limits, RenderError
from .values import Color


@dataclass(frozen=True)
class WatermarkRequest:
    kind: str  # "image_id", "url" or "text"
    value: str  # the image id, the https URL, or the text


Loader = Callable[[WatermarkRequest], Image.Image]


@dataclass(frozen=True)
class Mark:
    image: Image.Image  # RGBA: sized, rotated, with its shadow
    anchor: tuple[int, int]  # the mark's own top-left inside ``image`` (the shadow pads it)
    size: tuple[int, int]  # the mark's own size, which gravity and offsets place
    gravity: str
    x: int
    y: int
    left: int | None
    top: int | None
    opacity: float
    blend: str | None


def request_for(params: Mapping[str, Any]) -> WatermarkRequest | None:
    if "watermark" in params:
        return WatermarkRequest("image_id", params["watermark"].image_id)
    if "watermark_url" in params:
        return WatermarkRequest("url", params["watermark_url"])
    if "watermark_text" in params:
        return WatermarkRequest("text", params["watermark_text"].text)
    return None


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Not cached: a FreeType face must not be used by two threads at once.
    try:
        return ImageFont.load_default(size)
    except (OSError, ImportError):  # Pillow without FreeType: a fixed bitmap font
        return ImageFont.load_default_imagefont()


def _text(spec: Any, canvas: tuple[int, int], limits: Limits) -> Image.Image:
    size = spec.size or max(12, round(min(canvas) * 0.05))
    align = spec.align or "left"
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    font = _font(size)

    def bbox() -> tuple[float, float, float, float]:
        return probe.multiline_textbbox((0, 0), spec.text, font=font, align=align)

    box = bbox()
    w, h = box[2] - box[0], box[3] - box[1]
    # No point drawing text much larger than the output: it would be clipped anyway.
    room = min(2 * canvas[0] / max(w, 1), 2 * canvas[1] / max(h, 1), 1.0)
    if room < 1.0:
        size = max(1, math.floor(size * room))
        font = _font(size)
        box = bbox()
    width, height = max(1, math.ceil(box[2] - box[0])), max(1, math.ceil(box[3] - box[1]))
    limits.check(width, height, "watermark text")
    mask = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(mask)
    draw.multiline_text((-box[0], -box[1]), spec.text, fill=255, font=font, align=align)
    color = spec.color or Color(255, 255, 255)
    mark = Image.new("RGBA", mask.size, (*color[:3], 0))
    mark.putalpha(mask if color.a == 255 else mask.point(lambda v: v * color.a // 255))
    if spec.width or spec.height:
        mark = _fit(mark, spec.width, spec.height, 1.0, limits)
    return mark


def _fit(
    image: Image.Image, width: int | None, height: int | None, scale: float, limits: Limits
) -> Image.Image:
    w, h = image.size
    factor = min(width / w if width else math.inf, height / h if height else math.inf)
    factor = (1.0 if factor == math.inf else factor) * scale
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    if size == image.size:
        return image
    limits.check(*size, "watermark")
    image.draft(None, size)  # a JPEG mark decodes at a fraction of its size
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _sized(
    mark: Image.Image, params: Mapping[str, Any], canvas: tuple[int, int], limits: Limits
) -> Image.Image:
    size = params.get("watermark_size")
    if size is None:
        w, h = mark.size
        if w > canvas[0] or h > canvas[1]:
            return _fit(mark, canvas[0], canvas[1], 1.0, limits)
        return mark
    if size.width or size.height:
        return _fit(mark, size.width, size.height, size.scale or 1.0, limits)
    return _fit(mark, round(canvas[0] * (size.scale or 1.0)), None, 1.0, limits)


def _shadow(mark: Image.Image, spec: Any, limits: Limits) -> tuple[Image.Image, tuple[int, int]]:
    color = spec.color or Color(0, 0, 0, 128)
    blur = 3.0 if spec.blur is None else spec.blur
    dx, dy = (3 if spec.x is None else spec.x), (3 if spec.y is None else spec.y)
    pad = math.ceil(blur * 3)
    out_left, out_top = pad + max(0, -dx), pad + max(0, -dy)
    size = (
        mark.width + 2 * pad + abs(dx),
        mark.height + 2 * pad + abs(dy),
    )
    limits.check(*size, "watermark shadow")
    alpha = Image.new("L", size, 0)
    alpha.paste(
        mark.getchannel("A").point(lambda v: v * color.a // 255),
        (out_left + dx, out_top + dy),
    )
    shadow = Image.new("RGBA", size, (*color[:3], 0))
    shadow.putalpha(alpha.filter(ImageFilter.GaussianBlur(blur)))
    shadow.alpha_composite(mark, (out_left, out_top))
    return shadow, (out_left, out_top)


def prepare(
    params: Mapping[str, Any],
    canvas: tuple[int, int],
    loader: Loader | None,
    limits: Limits,
) -> Mark | None:
    """The mark to draw on ``canvas``-sized frames, or None when none is asked for."""
    request = request_for(params)
    if request is None:
        return None
    source = params.get("watermark") or params.get("watermark_text")
    if request.kind == "text":
        mark = _sized(_text(source, canvas, limits), params, canvas, limits)
    else:
        if loader is None:
            raise RenderError(500, "watermark images are not available here")
        loaded = loader(request)
        limits.check(*loaded.size, "watermark image")
        if loaded.format != "JPEG":  # JPEG marks stay lazy so _fit can draft them
            loaded = normalise(loaded, None)
        mark = with_alpha(normalise(_sized(loaded, params, canvas, limits), None))
    rotate = params.get("watermark_rotate")
    if rotate is not None and rotate.angle:
        fill = tuple(rotate.background) if rotate.background else (0, 0, 0, 0)
        mark = mark.rotate(-rotate.angle, Image.Resampling.BICUBIC, expand=True, fillcolor=fill)
    size, anchor = mark.size, (0, 0)
    if (shadow := params.get("watermark_shadow")) is not None:
        mark, anchor = _shadow(mark, shadow, limits)
    position = params.get("watermark_position")

    def pick(name: str, default: Any) -> Any:
        for holder in (position, source):
            value = getattr(holder, name, None)
            if value is not None:
                return value
        return default

    return Mark(
        image=mark,
        anchor=anchor,
        size=size,
        gravity=pick("gravity", "center"),
        x=pick("x", 0),
        y=pick("y", 0),
        left=pick("left", None),
        top=pick("top", None),
        opacity=pick("opacity", 1.0),
        blend=pick("blend", None),
    )


def _axis(anchor: float, total: int, size: int, offset: int) -> int:
    if anchor == 0.0:
        return -offset
    if anchor == 1.0:
        return total - size + offset
    return round((total - size) / 2) + offset


def place(mark: Mark, canvas: tuple[int, int]) -> tuple[int, int]:
    """Where the mark's own top-left goes on a ``canvas``-sized frame."""
    gx, gy = COMPASS.get(mark.gravity, (0.5, 0.5))
    x = mark.left if mark.left is not None else _axis(gx, canvas[0], mark.size[0], mark.x)
    y = mark.top if mark.top is not None else _axis(gy, canvas[1], mark.size[1], mark.y)
    return x, y


def apply(frame: Image.Image, mark: Mark) -> Image.Image:
    x, y = place(mark, frame.size)
    dest = (x - mark.anchor[0], y - mark.anchor[1])
    return composite(frame, mark.image, dest, mark.blend, mark.opacity)
