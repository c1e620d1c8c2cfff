"""Colour and effects, in this order: background flattening, blur, sharpen, pixelate,
brightness, lightness, saturation, hue, adjust, contrast, colorize, duotone, monochrome,
negate, normalize, gradient.

Every effect changes colour only: alpha is kept (filters run premultiplied so transparent
pixels do not bleed black), except ``negate=alpha:true`` and the flattening. Choices where
delivery.md leaves room:

- ``background`` (+ ``background_alpha``, default the colour's own alpha) flattens the image
  onto that colour; ``background_alpha`` alone flattens onto white at that alpha.
- ``blur=true`` is sigma 1; sigma is the Gaussian's standard deviation in output pixels.
- ``sharpen=true`` is Pillow's mild 3x3 SHARPEN; with sigma (or the object form) it is an
  unsharp mask of radius ``sigma`` (default 1), amount ``50 * (m1 + m2)`` percent (sharp's
  flat/jagged defaults 1 and 2 give 150), threshold ``x1`` (default 2), and the change
  per pixel capped at ``y2`` brighter / ``y3`` darker on a 0-100 scale (default 10/20).
- ``lightness`` multiplies L* (CIE Lab), ``brightness`` multiplies RGB, ``saturation`` and
  ``adjust``'s saturation and color multiply colourfulness (ImageEnhance.Color), ``hue``
  rotates HSV hue by degrees.
- ``contrast=m[:pivot]``: out = (in - pivot) * m + pivot per channel, pivot 128 by default.
- ``colorize`` keeps L* and takes its chroma from the colour (sharp's tint), blended by the
  colour's alpha; ``monochrome=<color>`` maps black -> colour -> white; ``duotone`` maps the
  luma from the shadow to the highlight colour.
- ``negate=true`` inverts colour only; ``negate=alpha:true`` inverts alpha as well.
- ``normalize`` stretches luma between the lower/upper percentiles (default 1/99), one
  mapping for all channels so hues hold.
- ``gradient`` angles follow CSS (180, the default, runs top to bottom; 90 left to right),
  colours are evenly spaced stops, opacity defaults to 1, blend to ``over``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from PIL import Image, ImageChops, ImageCms, ImageEnhance, ImageFilter, ImageOps

from .blend import composite
from .values import Color

WHITE = Color(255, 255, 255)


def _colour_only(image: Image.Image, effect: Callable[[Image.Image], Image.Image]) -> Image.Image:
    if image.mode != "RGBA":
        return effect(image)
    out = effect(image.convert("RGB"))
    out.putalpha(image.getchannel("A"))
    return out


def _filter(image: Image.Image, kernel: ImageFilter.Filter) -> Image.Image:
    if image.mode == "RGBA":
        return image.convert("RGBa").filter(kernel).convert("RGBA")
    return image.filter(kernel)


def flatten(image: Image.Image, params: Mapping[str, Any]) -> Image.Image:
    color, alpha = params.get("background"), params.get("background_alpha")
    if image.mode != "RGBA" or (color is None and alpha is None):
        return image
    color = color or WHITE
    a = color.a if alpha is None else round(alpha * 255)
    matte = Image.new("RGBA", image.size, (*color[:3], a))
    out = Image.alpha_composite(matte, image)
    return out.convert("RGB") if a == 255 else out


@cache
def _lab() -> tuple[ImageCms.ImageCmsTransform, ImageCms.ImageCmsTransform]:
    srgb, lab = ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB")
    flags = ImageCms.Flags.NOCACHE  # shared between threads
    return (
        ImageCms.buildTransform(srgb, lab, "RGB", "LAB", flags=flags),
        ImageCms.buildTransform(lab, srgb, "LAB", "RGB", flags=flags),
    )


def _lightness(rgb: Image.Image, factor: float) -> Image.Image:
    to_lab, to_rgb = _lab()
    lum, a, b = ImageCms.applyTransform(rgb, to_lab).split()
    lum = lum.point(lambda v: min(255, round(v * factor)))
    return ImageCms.applyTransform(Image.merge("LAB", (lum, a, b)), to_rgb)


def _hue(rgb: Image.Image, degrees: float) -> Image.Image:
    shift = round(degrees / 360 * 256) % 256
    if not shift:
        return rgb
    h, s, v = rgb.convert("HSV").split()
    h = h.point(lambda x: (x + shift) % 256)
    return Image.merge("HSV", (h, s, v)).convert("RGB")


def _contrast(rgb: Image.Image, multiplier: float, pivot: float) -> Image.Image:
    lut = [min(255, max(0, round((v - pivot) * multiplier + pivot))) for v in range(256)]
    return rgb.point(lut * 3)


def _colorize(rgb: Image.Image, color: Color) -> Image.Image:
    to_lab, to_rgb = _lab()
    lum, _, _ = ImageCms.applyTransform(rgb, to_lab).split()
    tint = ImageCms.applyTransform(Image.new("RGB", (1, 1), color[:3]), to_lab).getpixel((0, 0))
    assert isinstance(tint, tuple)
    a, b = Image.new("L", rgb.size, tint[1]), Image.new("L", rgb.size, tint[2])
    tinted = ImageCms.applyTransform(Image.merge("LAB", (lum, a, b)), to_rgb)
    return tinted if color.a == 255 else Image.blend(rgb, tinted, color.a / 255)


def _monochrome(rgb: Image.Image, tint: Any) -> Image.Image:
    gray = rgb.convert("L")
    if tint is True:
        return gray.convert("RGB")
    return ImageOps.colorize(gray, black=(0, 0, 0), white=(255, 255, 255), mid=tint[:3])


def _pixelate(image: Image.Image, size: int) -> Image.Image:
    small = (max(1, math.ceil(image.width / size)), max(1, math.ceil(image.height / size)))
    blocks = image.resize(small, Image.Resampling.BOX, reducing_gap=None)
    big = blocks.resize((small[0] * size, small[1] * size), Image.Resampling.NEAREST)
    return big.crop((0, 0, image.width, image.height))


def _sharpen(image: Image.Image, sharpen: Any) -> Image.Image:
    if all(getattr(sharpen, f) is None for f in ("sigma", "m1", "m2", "x1", "y2", "y3")):
        return _filter(image, ImageFilter.SHARPEN)
    m1 = 1.0 if sharpen.m1 is None else sharpen.m1
    m2 = 2.0 if sharpen.m2 is None else sharpen.m2
    threshold = round(2.0 if sharpen.x1 is None else sharpen.x1)
    radius = sharpen.sigma or 1.0
    percent = min(round(50 * (m1 + m2)), 100_000)
    brighter = round(2.55 * (10.0 if sharpen.y2 is None else sharpen.y2))
    darker = round(2.55 * (20.0 if sharpen.y3 is None else sharpen.y3))

    def run(rgb: Image.Image) -> Image.Image:
        sharp = rgb.filter(ImageFilter.UnsharpMask(radius, percent, threshold))
        if brighter >= 255 and darker >= 255:
            return sharp
        up = ImageChops.subtract(sharp, rgb).point(lambda v: min(v, brighter))
        down = ImageChops.subtract(rgb, sharp).point(lambda v: min(v, darker))
        return ImageChops.add(ImageChops.subtract(rgb, down), up)

    return _colour_only(image, run)


def gradient_layer(size: tuple[int, int], gradient: Any) -> Image.Image:
    """An RGBA ``size`` image of ``gradient`` (CSS angle, evenly spaced colour stops)."""
    w, h = size
    angle = math.radians(180.0 if gradient.angle is None else gradient.angle)
    dx, dy = math.sin(angle), -math.cos(angle)
    length = abs(w * dx) + abs(h * dy) or 1.0
    # Row r of the ramp holds value r; map output (x, y) to row 255 * t along the line.
    k = 255.0 / length
    data = (0, 0, 128, dx * k, dy * k, 127.5 - (w / 2 * dx + h / 2 * dy) * k + 0.5)
    ramp = Image.linear_gradient("L").transform(
        size, Image.Transform.AFFINE, data, Image.Resampling.BILINEAR
    )
    colors = gradient.colors
    opacity = 1.0 if gradient.opacity is None else gradient.opacity
    luts: list[list[int]] = [[], [], [], []]
    for v in range(256):
        p = v / 255 * (len(colors) - 1)
        i = min(int(p), len(colors) - 2)
        f = p - i
        for channel in range(4):
            value = colors[i][channel] * (1 - f) + colors[i + 1][channel] * f
            luts[channel].append(round(value * opacity) if channel == 3 else round(value))
    return Image.merge("RGBA", [ramp.point(lut) for lut in luts])


def apply(image: Image.Image, params: Mapping[str, Any]) -> Image.Image:
    """Run the effects ``params`` asks for on an RGB or RGBA ``image``."""
    image = flatten(image, params)
    blur = params.get("blur")
    if blur is not None:
        image = _filter(image, ImageFilter.GaussianBlur(1.0 if blur is True else blur))
    if "sharpen" in params:
        image = _sharpen(image, params["sharpen"])
    if "pixelate" in params:
        image = _pixelate(image, params["pixelate"])

    steps: list[Callable[[Image.Image], Image.Image]] = []
    get = params.get
    if get("brightness") is not None:
        steps.append(lambda im: ImageEnhance.Brightness(im).enhance(get("brightness")))
    if get("lightness") is not None:
        steps.append(lambda im: _lightness(im, get("lightness")))
    if get("saturation") is not None:
        steps.append(lambda im: ImageEnhance.Color(im).enhance(get("saturation")))
    if get("hue"):
        steps.append(lambda im: _hue(im, get("hue")))
    if (adjust := get("adjust")) is not None:
        steps.append(lambda im: ImageEnhance.Brightness(im).enhance(adjust.brightness))
        for factor in (adjust.saturation, adjust.color):
            if factor is not None:
                steps.append(lambda im, f=factor: ImageEnhance.Color(im).enhance(f))
    if (contrast := get("contrast")) is not None:
        pivot = 128.0 if contrast.pivot is None else contrast.pivot
        steps.append(lambda im: _contrast(im, contrast.multiplier, pivot))
    if get("colorize") is not None:
        steps.append(lambda im: _colorize(im, get("colorize")))
    if (duotone := get("duotone")) is not None:
        steps.append(
            lambda im: ImageOps.colorize(im.convert("L"), duotone.shadow[:3], duotone.highlight[:3])
        )
    if get("monochrome") is not None:
        steps.append(lambda im: _monochrome(im, get("monochrome")))
    if get("negate") is not None:
        steps.append(ImageOps.invert)
    if (normalize := get("normalize")) is not None:
        lower = 1.0 if normalize.lower is None else normalize.lower
        upper = 99.0 if normalize.upper is None else normalize.upper
        steps.append(
            lambda im: ImageOps.autocontrast(im, cutoff=(lower, 100 - upper), preserve_tone=True)
        )
    if steps:

        def run(rgb: Image.Image) -> Image.Image:
            for step in steps:
                rgb = step(rgb)
            return rgb

        image = _colour_only(image, run)

    negate = get("negate")
    if negate is not None and negate.alpha and image.mode == "RGBA":
        image.putalpha(ImageOps.invert(image.getchannel("A")))
    if (gradient := get("gradient")) is not None:
        layer = gradient_layer(image.size, gradient)
        image = composite(image, layer, (0, 0), gradient.blend)
    return image
