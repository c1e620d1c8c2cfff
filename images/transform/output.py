"""Encoding: format options, quality, metadata.

``quality=auto`` (and no ``quality``) uses ``QUALITY``: JPEG 80, WebP 78, AVIF 60 - about
the smallest settings at which photos show no visible artefacts at 1x for each codec
(AVIF's scale is libavif's, where 60 is roughly JPEG 80). PNG, GIF and TIFF are lossless
and ignore quality. Other fixed choices: AVIF encoder speed 8 (about 3x faster than
Pillow's default 6 for ~4% larger files, since variants render on a request), WebP method
4, PNG zlib level 6, TIFF deflate.

- ``progressive``: true -> progressive JPEG (Huffman-optimised) and interlaced GIF; ``auto``
  -> progressive JPEG from ``PROGRESSIVE_AUTO_PIXELS`` up; absent or false -> baseline
  (the fastest to encode).
- ``chroma_subsampling``: 4:4:4 / 4:2:2 for JPEG and AVIF; ``auto`` or absent is 4:2:0,
  or 4:4:4 for JPEG from quality 90.
- ``dpi`` is written to JPEG (JFIF), PNG (pHYs) and TIFF; other formats ignore it.
- Metadata: nothing of the source is copied (no EXIF, GPS, XMP, IPTC, comments).
  ``keep_copyright=true`` writes a fresh EXIF block holding only the source's Copyright and
  Artist tags (formats with EXIF: JPEG, PNG, WebP, AVIF, TIFF).
  ``strip_metadata=false`` cannot bring any back (delivery.md strips every variant).
- An image with transparency becomes JPEG (or CMYK) on the ``background`` colour, white by
  default; fully opaque alpha channels are dropped.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from PIL import ExifTags, Image

from .negotiate import FORMATS
from .values import Color

QUALITY = {"jpeg": 80, "webp": 78, "avif": 60}
AVIF_SPEED = 8
WEBP_METHOD = 4
PNG_COMPRESS_LEVEL = 6
PROGRESSIVE_AUTO_PIXELS = 65_536
COPYRIGHT_TAGS = (ExifTags.Base.Copyright, ExifTags.Base.Artist)
_SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}


def copyright_exif(exif: Image.Exif | None) -> bytes | None:
    """A new EXIF block with only the Copyright and Artist tags of ``exif``, if any."""
    if exif is None:
        return None
    kept = Image.Exif()
    for tag in COPYRIGHT_TAGS:
        value = exif.get(tag)
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if isinstance(value, str) and value.strip("\x00 "):
            kept[tag] = value
    return kept.tobytes() if len(kept) else None


def quality(fmt: str, params: Mapping[str, Any]) -> int:
    value = params.get("quality")
    return value if isinstance(value, int) else QUALITY.get(fmt, 80)


def _opaque(image: Image.Image) -> bool:
    return image.getchannel("A").getextrema() == (255, 255)


def prepare(image: Image.Image, fmt: str, params: Mapping[str, Any]) -> Image.Image:
    """``image`` in a mode the format's encoder takes, with transparency handled."""
    cmyk = params.get("color_profile") == "cmyk" and fmt in ("jpeg", "tiff")
    if image.mode == "RGBA" and (fmt == "jpeg" or cmyk):
        matte: Color = params.get("background") or Color(255, 255, 255)
        flat = Image.new("RGB", image.size, matte[:3])
        flat.paste(image, (0, 0), image.getchannel("A"))
        image = flat
    elif image.mode == "RGBA" and fmt != "gif" and _opaque(image):
        image = image.convert("RGB")
    if cmyk:
        image = image.convert("CMYK")
    image.info = {}  # encoders read comments, profiles and EXIF from here
    return image


def _options(
    fmt: str,
    image: Image.Image,
    params: Mapping[str, Any],
    icc: bytes | None,
    exif: bytes | None,
) -> dict[str, Any]:
    options: dict[str, Any] = {}
    q = quality(fmt, params)
    progressive = params.get("progressive")
    if fmt == "jpeg":
        if progressive == "auto":
            progressive = image.width * image.height >= PROGRESSIVE_AUTO_PIXELS
        chroma = params.get("chroma_subsampling", "auto")
        if chroma == "auto":
            chroma = "4:4:4" if q >= 90 else "4:2:0"
        options.update(quality=q, subsampling=_SUBSAMPLING[chroma])
        if progressive is True:
            options.update(progressive=True, optimize=True)
    elif fmt == "webp":
        options.update(quality=q, method=WEBP_METHOD)
    elif fmt == "avif":
        chroma = params.get("chroma_subsampling", "auto")
        options.update(quality=q, speed=AVIF_SPEED, subsampling=_avif_chroma(chroma))
    elif fmt == "png":
        options.update(compress_level=PNG_COMPRESS_LEVEL)
    elif fmt == "gif":
        if isinstance(progressive, bool):
            options.update(interlace=progressive)
    elif fmt == "tiff":
        options.update(compression="tiff_adobe_deflate")
    dpi = params.get("dpi")
    if dpi and fmt in ("jpeg", "png", "tiff"):
        options.update(dpi=(dpi, dpi))
    if icc and fmt != "gif":
        options.update(icc_profile=icc)
    if exif and fmt != "gif":
        options.update(exif=exif)
    return options


def _avif_chroma(chroma: str) -> str:
    return chroma if chroma in ("4:4:4", "4:2:2") else "4:2:0"


def encode(
    frames: Sequence[Image.Image],
    fmt: str,
    params: Mapping[str, Any],
    *,
    durations: Sequence[int] = (),
    loop: int | None = 0,
    icc: bytes | None = None,
    exif: bytes | None = None,
) -> bytes:
    """The encoded bytes of one frame, or of an animation when ``frames`` has several."""
    first = frames[0]
    options = _options(fmt, first, params, icc, exif)
    buffer = io.BytesIO()
    if len(frames) > 1:
        options.update(save_all=True, append_images=list(frames[1:]))
        if loop is not None:
            options["loop"] = loop
        options["duration"] = list(durations)
        if fmt == "gif":
            options["disposal"] = 2
    first.save(buffer, FORMATS[fmt].pillow, **options)
    return buffer.getvalue()
