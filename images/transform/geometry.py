"""Geometry: rotate/flip, crop, zoom, resize, contain, extend, extend_aspect_ratio, padding.

Everything is planned in *logical* pixels: the source after EXIF orientation, ``rotate`` and
``flip``, at full resolution. The decoded image may be smaller (JPEG ``draft``, ``reduce``);
``apply`` maps the plan onto it with its scale factors, so a plan made from the header
alone (``plan(size, params)``, no pixels) gives the same output size as the real one.

Semantics where delivery.md leaves room:

- ``rotate`` is clockwise and happens before crop and resize, so ``width``/``height`` are
  the output size whatever the angle; arbitrary angles grow the canvas to the rotated
  bounding box, filled with the rotate background (transparent by default).
- ``crop`` (``x:y`` given: extract; else a window placed by its own gravity, then
  ``gravity``) is clamped to the image; a crop that starts outside it is a 400.
- ``zoom=f`` shows the central (or gravity-placed) 1/f of the picture at the size the
  request would have had without zoom; it may magnify even with ``enlarge=false``.
- ``resizing_type`` defaults to ``cover`` when both width and height are given (sharp's
  default). ``dpr`` multiplies width, height, the min sizes and padding; alone it scales
  the image. ``min-width``/``min-height`` raise the scale (or the box for
  cover/contain/fill). ``enlarge=false`` (the default) never upscales: ``cover`` then
  keeps the box's aspect ratio at a smaller size, ``contain`` keeps its full box and
  ``fill`` clamps each side to the source's.
- ``contain``, ``extend_aspect_ratio`` and the window of ``cover`` are placed by ``gravity``.
- Fills (contain, extend, extend_aspect_ratio, padding) are transparent unless a colour is
  given; the ``background`` flattening in effects, or the JPEG encoder's matte, paints them.
  ``extend`` edges are output pixels; ``padding`` is multiplied by ``dpr``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from .limits import Limits, RenderError
from .orient import SWAPS, unmap_box
from .values import Color

FILTERS = {
    "nearest": Image.Resampling.NEAREST,
    "cubic": Image.Resampling.BICUBIC,
    # Pillow has neither Mitchell-Netravali nor Lanczos-2: Hamming is its soft, low-ringing
    # kernel, and Catmull-Rom (BICUBIC) has Lanczos-2's support and sharpness.
    "mitchell": Image.Resampling.HAMMING,
    "lanczos2": Image.Resampling.BICUBIC,
    "lanczos3": Image.Resampling.LANCZOS,
}
DEFAULT_FILTER = Image.Resampling.LANCZOS
TRANSPARENT = Color(0, 0, 0, 0)
COMPASS = {
    "center": (0.5, 0.5),
    "north": (0.5, 0.0),
    "south": (0.5, 1.0),
    "east": (1.0, 0.5),
    "west": (0.0, 0.5),
    "northeast": (1.0, 0.0),
    "northwest": (0.0, 0.0),
    "southeast": (1.0, 1.0),
    "southwest": (0.0, 1.0),
}

Box = tuple[float, float, float, float]  # left, top, width, height
# Gravities placed by a Locate (focus.py) rather than by the compass.
FOCUSED = frozenset({"attention", "entropy", "custom"})
# (region, window width, window height, gravity) -> window left, top; for FOCUSED gravities
Locate = Callable[[Box, float, float, str], tuple[float, float]]


@dataclass(frozen=True)
class Edges:
    top: int
    right: int
    bottom: int
    left: int
    fill: Color


@dataclass(frozen=True)
class Plan:
    window: Box  # the part of the logical image that is shown
    size: tuple[int, int]  # what the window is resized to
    filter: Image.Resampling
    canvas: tuple[int, int] | None = None  # contain's box
    offset: tuple[int, int] = (0, 0)  # where the resized window sits on it
    edges: tuple[Edges, ...] = field(default=())
    final: tuple[int, int] = (0, 0)

    @property
    def scale(self) -> float:
        """Output pixels per logical pixel (the larger axis): how much detail is needed."""
        return max(self.size[0] / self.window[2], self.size[1] / self.window[3])


def rotated_size(width: float, height: float, angle: float) -> tuple[float, float]:
    if angle in (90.0, 270.0):
        return height, width
    if angle in (0.0, 180.0):
        return width, height
    c, s = abs(math.cos(math.radians(angle))), abs(math.sin(math.radians(angle)))
    return width * c + height * s, width * s + height * c


def place(region: Box, w: float, h: float, gravity: str | None, locate: Locate | None) -> Box:
    """A ``w`` x ``h`` window inside ``region`` placed by ``gravity``."""
    left, top, rw, rh = region
    w, h = min(w, rw), min(h, rh)
    if gravity in FOCUSED and locate is not None and (w < rw or h < rh):
        x, y = locate(region, w, h, gravity)
        x, y = min(max(x, left), left + rw - w), min(max(y, top), top + rh - h)
        return x, y, w, h
    gx, gy = COMPASS.get(gravity or "center", (0.5, 0.5))
    return left + (rw - w) * gx, top + (rh - h) * gy, w, h


def _px(value: Any, dpr: float) -> int:
    return max(1, round(value * dpr)) if value else 0


def _crop(region: Box, params: Mapping[str, Any], locate: Locate | None) -> Box:
    crop = params.get("crop")
    if crop is None:
        return region
    _, _, width, height = region
    if crop.x is not None:
        if crop.x >= width or crop.y >= height:
            raise RenderError(
                400,
                f"crop starts at {crop.x},{crop.y}, outside the "
                f"{round(width)}x{round(height)} image",
            )
        return crop.x, crop.y, min(crop.width, width - crop.x), min(crop.height, height - crop.y)
    return place(region, crop.width, crop.height, crop.gravity or params.get("gravity"), locate)


def _resize(
    params: Mapping[str, Any], cw: float, ch: float
) -> tuple[float, float, tuple[int, int], tuple[int, int] | None]:
    """(window width, window height, resized size, contain canvas) for a cw x ch region."""
    dpr = params.get("dpr", 1.0)
    width, height = _px(params.get("width"), dpr), _px(params.get("height"), dpr)
    min_w, min_h = _px(params.get("min-width"), dpr), _px(params.get("min-height"), dpr)
    enlarge = params.get("enlarge", False)
    kind = params.get("resizing_type", "cover")
    if width and height and kind in ("cover", "contain", "fill"):
        width, height = max(width, min_w), max(height, min_h)
        if kind == "fill":
            if not enlarge:
                width, height = min(width, max(1, round(cw))), min(height, max(1, round(ch)))
            return cw, ch, (width, height), None
        if kind == "cover":
            aspect = width / height
            ww, wh = (ch * aspect, ch) if cw / ch > aspect else (cw, cw / aspect)
            scale = width / ww if enlarge else min(width / ww, 1.0)
            return ww, wh, (max(1, round(ww * scale)), max(1, round(wh * scale))), None
        scale = min(width / cw, height / ch)
        scale = scale if enlarge else min(scale, 1.0)
        size = (min(width, max(1, round(cw * scale))), min(height, max(1, round(ch * scale))))
        return cw, ch, size, (width, height)
    if width and height:
        pick = max if kind == "outside" else min
        scale = pick(width / cw, height / ch)
    elif width or height:
        scale = width / cw if width else height / ch
    else:
        scale = dpr
    if min_w:
        scale = max(scale, min_w / cw)
    if min_h:
        scale = max(scale, min_h / ch)
    if not enlarge:
        scale = min(scale, 1.0)
    return cw, ch, (max(1, round(cw * scale)), max(1, round(ch * scale))), None


def _aspect_edges(size: tuple[int, int], params: Mapping[str, Any]) -> Edges | None:
    ratio = params.get("extend_aspect_ratio")
    if ratio is None:
        return None
    w, h = size
    gx, gy = COMPASS.get(params.get("gravity") or "center", (0.5, 0.5))
    if w / h < ratio:
        extra = round(h * ratio) - w
        left = round(extra * gx)
        return Edges(0, extra - left, 0, left, TRANSPARENT)
    extra = round(w / ratio) - h
    top = round(extra * gy)
    return Edges(top, 0, extra - top, 0, TRANSPARENT)


def _grown(size: tuple[int, int], edges: Edges, limits: Limits) -> tuple[int, int]:
    grown = (size[0] + edges.left + edges.right, size[1] + edges.top + edges.bottom)
    limits.check(*grown, "extended image")
    return grown


def plan(
    size: tuple[float, float],
    params: Mapping[str, Any],
    limits: Limits,
    locate: Locate | None = None,
) -> Plan:
    """The geometry for a logical image of ``size``; raises RenderError over the limits."""
    region = _crop((0.0, 0.0, float(size[0]), float(size[1])), params, locate)
    ww, wh, resized, canvas = _resize(params, region[2], region[3])
    gravity = params.get("gravity")
    window = place(region, ww, wh, gravity, locate)
    zoom = params.get("zoom")
    if zoom is not None and zoom.factor > 1:
        window = place(window, ww / zoom.factor, wh / zoom.factor, zoom.gravity or gravity, locate)
    limits.check(*resized, "resized image")
    offset = (0, 0)
    current = resized
    if canvas is not None:
        limits.check(*canvas, "contain canvas")
        gx, gy = COMPASS.get(gravity or "center", (0.5, 0.5))
        offset = (round((canvas[0] - resized[0]) * gx), round((canvas[1] - resized[1]) * gy))
        current = canvas
    edges: list[Edges] = []
    extend, padding = params.get("extend"), params.get("padding")
    if extend is not None:
        fill = extend.background or TRANSPARENT
        edges.append(Edges(extend.top, extend.right, extend.bottom, extend.left, fill))
        current = _grown(current, edges[-1], limits)
    aspect = _aspect_edges(current, params)
    if aspect is not None:
        edges.append(aspect)
        current = _grown(current, aspect, limits)
    if padding is not None:
        dpr = params.get("dpr", 1.0)
        sides = (round(getattr(padding, side) * dpr) for side in ("top", "right", "bottom", "left"))
        edges.append(Edges(*sides, fill=TRANSPARENT))
        current = _grown(current, edges[-1], limits)
    return Plan(
        window=window,
        size=resized,
        filter=FILTERS.get(params.get("resizing_algorithm", ""), DEFAULT_FILTER),
        canvas=canvas,
        offset=offset,
        edges=tuple(edges),
        final=current,
    )


# --- applying it ---------------------------------------------------------------------------


def with_alpha(image: Image.Image) -> Image.Image:
    return image if image.mode == "RGBA" else image.convert("RGBA")


def _canvas(image: Image.Image, size: tuple[int, int], fill: Color) -> Image.Image:
    if fill.a == 255 and image.mode == "RGB":
        return Image.new("RGB", size, fill[:3])
    return Image.new("RGBA", size, tuple(fill))


def turn(image: Image.Image, params: Mapping[str, Any]) -> Image.Image:
    """``rotate`` by an angle that is not a right angle (clockwise), then ``flip``; right
    angles and flips alone are folded into one transpose (orient.py)."""
    rotate = params.get("rotate")
    if rotate is not None and rotate.angle:
        fill = rotate.background or TRANSPARENT
        if fill.a == 255 and image.mode == "RGB":
            image = image.rotate(
                -rotate.angle, Image.Resampling.BICUBIC, expand=True, fillcolor=fill[:3]
            )
        else:
            image = with_alpha(image).rotate(
                -rotate.angle, Image.Resampling.BICUBIC, expand=True, fillcolor=(0, 0, 0, 0)
            )
            if fill.a:
                image = Image.alpha_composite(_canvas(image, image.size, fill), image)
    flip = params.get("flip")
    if flip is not None:
        if flip.horizontal:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        if flip.vertical:
            image = image.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
    return image


def _expand(image: Image.Image, edges: Edges) -> Image.Image:
    if not (edges.top or edges.right or edges.bottom or edges.left):
        return image
    size = (
        image.width + edges.left + edges.right,
        image.height + edges.top + edges.bottom,
    )
    canvas = _canvas(image, size, edges.fill)
    if canvas.mode != image.mode:
        image = with_alpha(image)
    canvas.paste(image, (edges.left, edges.top))
    return canvas


def apply(
    image: Image.Image, plan: Plan, fx: float, fy: float, method: Image.Transpose | None = None
) -> Image.Image:
    """Draw ``plan`` on ``image``. ``image.transpose(method)`` (``image`` itself without a
    method) is the logical picture with ``fx`` x ``fy`` of its pixels per logical pixel; the
    window is cut and resized in ``image``'s own orientation and transposed afterwards."""
    shown = (image.height, image.width) if method in SWAPS else image.size
    left, top, width, height = plan.window
    box = (
        max(0.0, left * fx),
        max(0.0, top * fy),
        min(float(shown[0]), (left + width) * fx),
        min(float(shown[1]), (top + height) * fy),
    )
    size = plan.size
    if method is not None:
        box = unmap_box(method, box, shown)
        size = (size[1], size[0]) if method in SWAPS else size
    whole = box == (0.0, 0.0, float(image.width), float(image.height))
    if whole and size == image.size:
        pass
    elif all(float(v).is_integer() for v in box) and size == (box[2] - box[0], box[3] - box[1]):
        image = image.crop(tuple(int(v) for v in box))
    else:
        image = image.resize(size, plan.filter, box=box, reducing_gap=2.0)
    if method is not None:
        image = image.transpose(method)
    if plan.canvas is not None:
        canvas = _canvas(image, plan.canvas, TRANSPARENT)
        canvas.paste(with_alpha(image), plan.offset)
        image = canvas
    for edges in plan.edges:
        image = _expand(image, edges)
    return image
