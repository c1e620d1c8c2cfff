"""Compositing a layer onto an image with the libvips/sharp blend modes (``BLEND_MODES``).

- Separable modes (multiply, screen, overlay, darken, lighten, colour dodge/burn, hard and
  soft light, difference, exclusion) follow the W3C compositing formula: the blended colour
  where the backdrop is opaque, the layer's own colour where it is transparent, then
  source-over with the layer's alpha.
- Porter-Duff operators (clear, source, in, out, atop, dest, dest-over, dest-in, dest-out,
  dest-atop, xor, add, saturate) are computed on premultiplied values. Outside the layer
  the layer is transparent, so clear, source, in, out, dest-in and dest-atop clear the
  rest of the image, as they do in libvips.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PIL import Image, ImageChops, ImageMath

Band = Callable[[Any, Any], Any]  # ImageMath operands (0..1 alphas) -> factor

_PORTER_DUFF: dict[str, tuple[Band, Band]] = {
    "clear": (lambda s, b: 0.0, lambda s, b: 0.0),
    "source": (lambda s, b: 1.0, lambda s, b: 0.0),
    "over": (lambda s, b: 1.0, lambda s, b: 1.0 - s),
    "in": (lambda s, b: b, lambda s, b: 0.0),
    "out": (lambda s, b: 1.0 - b, lambda s, b: 0.0),
    "atop": (lambda s, b: b, lambda s, b: 1.0 - s),
    "dest": (lambda s, b: 0.0, lambda s, b: 1.0),
    "dest-over": (lambda s, b: 1.0 - b, lambda s, b: 1.0),
    "dest-in": (lambda s, b: 0.0, lambda s, b: s),
    "dest-out": (lambda s, b: 0.0, lambda s, b: 1.0 - s),
    "dest-atop": (lambda s, b: 1.0 - b, lambda s, b: s),
    "xor": (lambda s, b: 1.0 - b, lambda s, b: 1.0 - s),
    "add": (lambda s, b: 1.0, lambda s, b: 1.0),
}
CLEARING = frozenset({"clear", "source", "in", "out", "dest-in", "dest-atop"})


def _dodge(b: Image.Image, s: Image.Image) -> Image.Image:
    def run(m: dict[str, Any]) -> Any:
        room = m["max"](255.0 - m["float"](m["s"]), 1.0)
        return m["convert"](m["min"](m["float"](m["b"]) * 255.0 / room, 255.0), "L")

    return ImageMath.lambda_eval(run, b=b, s=s)


def _burn(b: Image.Image, s: Image.Image) -> Image.Image:
    def run(m: dict[str, Any]) -> Any:
        depth = (255.0 - m["float"](m["b"])) * 255.0 / m["max"](m["float"](m["s"]), 1.0)
        return m["convert"](255.0 - m["min"](depth, 255.0), "L")

    return ImageMath.lambda_eval(run, b=b, s=s)


def _exclusion(b: Image.Image, s: Image.Image) -> Image.Image:
    return ImageChops.subtract(ImageChops.screen(b, s), ImageChops.multiply(b, s))


def _per_band(op: Callable[[Image.Image, Image.Image], Image.Image]) -> Callable[..., Image.Image]:
    def run(backdrop: Image.Image, source: Image.Image) -> Image.Image:
        bands = zip(backdrop.split(), source.split(), strict=True)
        return Image.merge("RGB", [op(b, s) for b, s in bands])

    return run


SEPARABLE: dict[str, Callable[[Image.Image, Image.Image], Image.Image]] = {
    "multiply": ImageChops.multiply,
    "screen": ImageChops.screen,
    "overlay": ImageChops.overlay,
    "darken": ImageChops.darker,
    "lighten": ImageChops.lighter,
    "hard-light": ImageChops.hard_light,
    "soft-light": ImageChops.soft_light,
    "difference": ImageChops.difference,
    "exclusion": _exclusion,
    "color-dodge": _per_band(_dodge),
    "color-burn": _per_band(_burn),
}


def _porter_duff(base: Image.Image, layer: Image.Image, mode: str) -> Image.Image:
    fa_of, fb_of = _PORTER_DUFF.get(mode, _PORTER_DUFF["over"])
    (*cs, a_s), (*cb, a_b) = layer.split(), base.split()

    def run(expression: Callable[[dict[str, Any]], Any], **images: Image.Image) -> Image.Image:
        return ImageMath.lambda_eval(expression, **images)

    def factors(m: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
        s, b = m["float"](m["sa"]) / 255.0, m["float"](m["ba"]) / 255.0
        if mode == "saturate":
            fa = m["min"](m["max"](1.0 - b, 0.0) / m["max"](s, 1.0 / 255.0), 1.0)
            fb: Any = 1.0
        else:
            fa, fb = fa_of(s, b), fb_of(s, b)
        return s * fa, b * fb, s, b

    def alpha(m: dict[str, Any]) -> Any:
        ws, wb, _, _ = factors(m)
        return m["convert"](m["min"]((ws + wb) * 255.0, 255.0), "L")

    def channel(m: dict[str, Any]) -> Any:
        ws, wb, _, _ = factors(m)
        premultiplied = ws * m["float"](m["c"]) + wb * m["float"](m["d"])
        out_alpha = m["min"](ws + wb, 1.0)
        return m["convert"](m["min"](premultiplied / m["max"](out_alpha, 1e-6), 255.0), "L")

    bands = [run(channel, sa=a_s, ba=a_b, c=c, d=d) for c, d in zip(cs, cb, strict=True)]
    return Image.merge("RGBA", [*bands, run(alpha, sa=a_s, ba=a_b)])


def composite(
    base: Image.Image,
    layer: Image.Image,
    dest: tuple[int, int] = (0, 0),
    mode: str | None = None,
    opacity: float = 1.0,
) -> Image.Image:
    """``layer`` (RGBA) drawn on ``base`` at ``dest`` with blend ``mode`` (default over),
    its alpha scaled by ``opacity``. Returns a new image (RGBA, or RGB for an opaque
    result on an RGB base)."""
    mode = mode or "over"
    if opacity < 1.0:
        layer = layer.copy()
        layer.putalpha(layer.getchannel("A").point(lambda a: round(a * opacity)))
    x, y = dest
    left, top = max(x, 0), max(y, 0)
    right, bottom = min(x + layer.width, base.width), min(y + layer.height, base.height)
    if mode in CLEARING:
        full = Image.new("RGBA", base.size, (0, 0, 0, 0))
        if right > left and bottom > top:
            full.paste(layer.crop((left - x, top - y, right - x, bottom - y)), (left, top))
        return _porter_duff(base.convert("RGBA"), full, mode)
    if right <= left or bottom <= top:
        return base
    layer = layer.crop((left - x, top - y, right - x, bottom - y))
    opaque = base.mode == "RGB"
    if mode == "over" and opaque:
        out = base.copy()
        out.paste(layer.convert("RGB"), (left, top), layer.getchannel("A"))
        return out
    out = base.convert("RGBA") if base.mode != "RGBA" else base.copy()
    backdrop = out.crop((left, top, right, bottom))
    if mode == "over":
        mixed = Image.alpha_composite(backdrop, layer)
    elif mode in SEPARABLE:
        blended = SEPARABLE[mode](backdrop.convert("RGB"), layer.convert("RGB"))
        source = Image.composite(blended, layer.convert("RGB"), backdrop.getchannel("A"))
        source.putalpha(layer.getchannel("A"))
        mixed = Image.alpha_composite(backdrop, source)
    else:
        mixed = _porter_duff(backdrop, layer, mode)
    out.paste(mixed, (left, top))
    if opaque and out.getchannel("A").getextrema() == (255, 255):
        return out.convert("RGB")
    return out
