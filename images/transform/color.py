"""Pixel modes and colour profiles.

Decoded frames are normalised once to RGB, or RGBA when they carry transparency: palettes
expand, grey becomes RGB, 16/32-bit grey is scaled (not clipped) to 8 bits, CMYK goes to
sRGB through its embedded profile when it has one.

Profiles (``color_profile``): by default (``srgb``, and ``rgb16``, which no Pillow encoder
can honour for colour images) an embedded RGB profile that is not sRGB is converted to sRGB
after geometry (on the smaller image) and the output carries no profile (untagged means
sRGB to browsers). ``keep``/``preserve`` skips the conversion and embeds the source
profile; ``strip_color_profile=true`` wins over ``keep``: convert and embed nothing.
``cmyk`` converts JPEG and TIFF output to CMYK (Pillow's naive conversion; ignored for other
formats).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from functools import cache, lru_cache
from typing import Any

from PIL import Image, ImageCms


@cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@lru_cache(maxsize=32)
def _profile(icc: bytes) -> tuple[ImageCms.ImageCmsProfile, str, bool] | None:
    """(profile, colour space, is sRGB) or None for an unreadable profile."""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        space = profile.profile.xcolor_space.strip().upper()
        description = ImageCms.getProfileDescription(profile) or ""
    except (OSError, ImageCms.PyCMSError, ValueError, TypeError):
        return None
    return profile, space, "srgb" in description.lower()


@lru_cache(maxsize=32)
def _transform(icc: bytes, mode_in: str, mode_out: str) -> ImageCms.ImageCmsTransform | None:
    known = _profile(icc)
    if known is None:
        return None
    try:
        # NOCACHE: lcms's one-pixel cache is not safe when threads share a transform.
        return ImageCms.buildTransform(
            known[0], _srgb(), mode_in, mode_out, flags=ImageCms.Flags.NOCACHE
        )
    except (OSError, ImageCms.PyCMSError, ValueError):
        return None


def _grey_to_8bit(image: Image.Image) -> Image.Image:
    if image.mode.startswith("I;16"):
        return image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    low, high = image.getextrema()
    if image.mode == "F" and high <= 1.0 and low >= 0.0:
        return image.point(lambda v: v * 255).convert("L")
    if high <= 255:
        return image.convert("L")
    return image.point(lambda v: v * (255 / high)).convert("L")


def normalise(image: Image.Image, icc: bytes | None) -> Image.Image:
    """``image`` as RGB or RGBA (see the module docstring)."""
    mode = image.mode
    if mode == "RGBA" or (mode == "RGB" and "transparency" not in image.info):
        return image
    if mode == "CMYK":
        known = _profile(icc) if icc else None
        transform = _transform(icc, "CMYK", "RGB") if icc and known and known[1] == "CMYK" else None
        return ImageCms.applyTransform(image, transform) if transform else image.convert("RGB")
    if mode in ("I", "F") or mode.startswith("I;16"):
        return _grey_to_8bit(image).convert("RGB")
    if mode in ("P", "PA", "LA", "La", "RGBa", "RGBX") or "transparency" in image.info:
        alpha = mode in ("PA", "LA", "La", "RGBa") or image.has_transparency_data
        return image.convert("RGBA" if alpha else "RGB")
    return image.convert("RGB")


def keeps_profile(params: Mapping[str, Any]) -> bool:
    return params.get("color_profile") == "keep" and not params.get("strip_color_profile")


def to_srgb(image: Image.Image, icc: bytes | None, params: Mapping[str, Any]) -> Image.Image:
    """Convert an RGB/RGBA image tagged with a non-sRGB RGB profile to sRGB (unless kept)."""
    if not icc or keeps_profile(params) or image.mode not in ("RGB", "RGBA"):
        return image
    known = _profile(icc)
    if known is None or known[1] != "RGB" or known[2]:
        return image
    transform = _transform(icc, image.mode, image.mode)
    return ImageCms.applyTransform(image, transform) if transform else image


def output_profile(icc: bytes | None, params: Mapping[str, Any], mode: str) -> bytes | None:
    """The profile to embed in an output of ``mode``: only a kept RGB source profile."""
    if not icc or not keeps_profile(params) or mode not in ("RGB", "RGBA"):
        return None
    known = _profile(icc)
    return icc if known is not None and known[1] == "RGB" else None
