"""Window placement for ``gravity=attention``, ``gravity=entropy`` and ``gravity=custom``.

Both look at a small copy of the region (at most ``ANALYSIS`` pixels on its long side), so
their cost does not grow with the source, and return the window's top-left corner in the
coordinates of the image they were given. Ties go to the window nearest the centre.

- ``entropy``: the window whose grey-level histogram has the highest Shannon entropy (a
  busy subject beats a flat sky), tried at up to ``STEPS`` + 1 positions per free axis.
- ``attention``: a saliency map in the spirit of sharp's strategy - edge density (blurred
  Laplacian), colour saturation weighted by brightness, and skin tones (YCbCr box), with
  transparent pixels counting for nothing - and the window with the largest saliency sum
  from a summed-area table.
- ``custom``: the window centred on the image's own focus area (``custom_coordinates``
  ``x,y,w,h``, ImageKit's ``customCoordinates`` for ``fo-custom``), in pixels of the picture
  as displayed (EXIF orientation applied), moved with ``rotate``/``flip``; no pixels are
  read. An image without an area (or with a malformed one) is cropped around the centre.
"""

from __future__ import annotations

import math
from itertools import accumulate

from PIL import Image, ImageChops, ImageFilter

ANALYSIS = 128
STEPS = 32
_SKIN_CB = bytes(255 if 77 <= v <= 127 else 0 for v in range(256))
_SKIN_CR = bytes(255 if 133 <= v <= 173 else 0 for v in range(256))


def _positions(free: int) -> list[int]:
    if free <= 0:
        return [0]
    steps = min(free, STEPS)
    return sorted({round(i * free / steps) for i in range(steps + 1)})


def _best(scores: list[tuple[float, int, int]], free_x: int, free_y: int) -> tuple[int, int]:
    def key(item: tuple[float, int, int]) -> tuple[float, float]:
        score, x, y = item
        return score, -(abs(x - free_x / 2) + abs(y - free_y / 2))

    _, x, y = max(scores, key=key)
    return x, y


def _entropy(small: Image.Image, kw: int, kh: int) -> tuple[int, int]:
    gray = small.convert("L")
    free_x, free_y = gray.width - kw, gray.height - kh
    scores = [
        (round(gray.crop((x, y, x + kw, y + kh)).entropy(), 6), x, y)
        for x in _positions(free_x)
        for y in _positions(free_y)
    ]
    return _best(scores, free_x, free_y)


def saliency(small: Image.Image) -> list[int]:
    """Row-major saliency values of ``small`` (RGB or RGBA)."""
    rgb = small.convert("RGB")
    edges = rgb.convert("L").filter(ImageFilter.FIND_EDGES).filter(ImageFilter.BoxBlur(1))
    _, sat, value = rgb.convert("HSV").split()
    vivid = ImageChops.multiply(sat, value)
    _, cb, cr = rgb.convert("YCbCr").split()
    skin = ImageChops.multiply(cb.point(list(_SKIN_CB)), cr.point(list(_SKIN_CR)))
    e, v, k = edges.tobytes(), vivid.tobytes(), skin.tobytes()
    values = [2 * e[i] + v[i] + k[i] for i in range(len(e))]
    if small.mode == "RGBA":
        alpha = small.getchannel("A").tobytes()
        values = [value * alpha[i] // 255 for i, value in enumerate(values)]
    return values


def _attention(small: Image.Image, kw: int, kh: int) -> tuple[int, int]:
    width, height = small.size
    values = saliency(small)
    table = [[0] * (width + 1)]
    for y in range(height):
        row = accumulate(values[y * width : (y + 1) * width], initial=0)
        table.append([above + here for above, here in zip(table[-1], row, strict=True)])
    free_x, free_y = width - kw, height - kh
    scores = [
        (table[y + kh][x + kw] - table[y][x + kw] - table[y + kh][x] + table[y][x], x, y)
        for x in _positions(free_x)
        for y in _positions(free_y)
    ]
    return _best(scores, free_x, free_y)


def find_window(
    image: Image.Image,
    region: tuple[float, float, float, float],
    width: float,
    height: float,
    gravity: str,
) -> tuple[float, float]:
    """Top-left corner of the best ``width`` x ``height`` window inside ``region``
    (left, top, width, height) of ``image``."""
    left, top, rw, rh = region
    scale = min(1.0, ANALYSIS / max(rw, rh))
    sw, sh = max(1, round(rw * scale)), max(1, round(rh * scale))
    small = image.resize(
        (sw, sh),
        Image.Resampling.BILINEAR,
        box=(left, top, left + rw, top + rh),
        reducing_gap=2.0,
    )
    if small.mode not in ("RGB", "RGBA"):
        small = small.convert("RGBA" if "A" in small.getbands() else "RGB")
    kw = max(1, min(sw, round(width * scale)))
    kh = max(1, min(sh, round(height * scale)))
    x, y = _entropy(small, kw, kh) if gravity == "entropy" else _attention(small, kw, kh)
    return left + x / scale, top + y / scale


# --- gravity=custom: the image's own focus area --------------------------------------------


def parse_coordinates(text: str | None) -> tuple[int, int, int, int] | None:
    """``"x,y,w,h"`` (custom_coordinates, ImageKit customCoordinates) as ints, or None when
    absent or malformed (a malformed value must never break delivery: it is as if unset)."""
    if not text or not isinstance(text, str):
        return None
    parts = text.split(",")
    if len(parts) != 4 or not all(p.strip().isascii() and p.strip().isdigit() for p in parts):
        return None
    x, y, w, h = (int(p) for p in parts)
    return (x, y, w, h) if w > 0 and h > 0 else None


def custom_center(
    area: tuple[int, int, int, int] | None,
    upright: tuple[float, float],
    angle: float = 0.0,
    flip: tuple[bool, bool] = (False, False),
) -> tuple[float, float] | None:
    """The centre of focus ``area`` (pixels of the picture as displayed, EXIF orientation
    applied, ``upright`` its size) in logical pixels: after ``rotate`` (clockwise, about
    the centre, on the grown canvas) and ``flip``, the order geometry.turn applies them."""
    if area is None:
        return None
    width, height = upright
    x, y, w, h = area
    cx = min(max(x + w / 2, 0.0), width)
    cy = min(max(y + h / 2, 0.0), height)
    if angle:
        c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        dx, dy = cx - width / 2, cy - height / 2
        grown_w = width * abs(c) + height * abs(s)
        grown_h = width * abs(s) + height * abs(c)
        cx, cy = dx * c - dy * s + grown_w / 2, dx * s + dy * c + grown_h / 2
        width, height = grown_w, grown_h
    if flip[0]:
        cx = width - cx
    if flip[1]:
        cy = height - cy
    return cx, cy


def custom_window(
    center: tuple[float, float] | None,
    region: tuple[float, float, float, float],
    width: float,
    height: float,
) -> tuple[float, float]:
    """Top-left corner of the ``width`` x ``height`` window centred on ``center`` (the
    caller clamps it into ``region``); centred in ``region`` when the image has no area."""
    left, top, rw, rh = region
    if center is None:
        return left + (rw - width) / 2, top + (rh - height) / 2
    return center[0] - width / 2, center[1] - height / 2


def uses_custom(params) -> bool:
    """Whether a render of these params depends on the image's focus area."""
    if params.get("gravity") == "custom":
        return True
    return any(getattr(params.get(name), "gravity", None) == "custom" for name in ("crop", "zoom"))
