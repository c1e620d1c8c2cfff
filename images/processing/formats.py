"""The image formats Imgwire accepts, and how Pillow, MIME types and extensions map onto them.

Pure data: no Django, no Pillow import, so both the web process and the decoding sandbox can
use it.
"""

from __future__ import annotations

import os

ACCEPTED_MIME_TYPES: tuple[str, ...] = (
    "image/jpeg",
    "image/jxl",
    "image/png",
    "image/webp",
    "image/avif",
    "image/gif",
    "image/vnd.microsoft.icon",
    "image/heic",
    "image/bmp",
    "image/tiff",
)

# Formats every current browser renders, so the original can be served as-is.
DIRECTLY_DELIVERABLE: frozenset[str] = frozenset(
    {"image/jpeg", "image/png", "image/webp", "image/avif", "image/gif"}
)

# Pillow's format names (``Image.format``). MPO is a JPEG carrying extra pictures (stereo
# pairs, depth maps); Pillow hands it back from the JPEG opener. DIB is a BMP without its
# 14-byte file header. pillow-heif names HEIC "HEIF".
PIL_FORMAT_TO_MIME: dict[str, str] = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "JXL": "image/jxl",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "AVIF": "image/avif",
    "GIF": "image/gif",
    "ICO": "image/vnd.microsoft.icon",
    "HEIF": "image/heic",
    "BMP": "image/bmp",
    "DIB": "image/bmp",
    "TIFF": "image/tiff",
}

# Openers, in the order Pillow tries them. MPO has no opener of its own (the JPEG opener
# returns an MPO image when it finds the extra pictures) and naming it raises KeyError. DIB has
# the weakest signature check (four bytes that look like a header size), so it goes last.
ACCEPTED_PIL_FORMATS: list[str] = [
    "JPEG",
    "PNG",
    "GIF",
    "WEBP",
    "AVIF",
    "HEIF",
    "JXL",
    "TIFF",
    "BMP",
    "ICO",
    "DIB",
]

EXTENSION_TO_MIME: dict[str, str] = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "jpe": "image/jpeg",
    "jfif": "image/jpeg",
    "png": "image/png",
    "apng": "image/png",
    "webp": "image/webp",
    "avif": "image/avif",
    "gif": "image/gif",
    "ico": "image/vnd.microsoft.icon",
    "heic": "image/heic",
    "heif": "image/heic",
    "bmp": "image/bmp",
    "dib": "image/bmp",
    "tif": "image/tiff",
    "tiff": "image/tiff",
    "jxl": "image/jxl",
}

MIME_TO_EXTENSION: dict[str, str] = {
    "image/jpeg": "jpg",
    "image/jxl": "jxl",
    "image/png": "png",
    "image/webp": "webp",
    "image/avif": "avif",
    "image/gif": "gif",
    "image/vnd.microsoft.icon": "ico",
    "image/heic": "heic",
    "image/bmp": "bmp",
    "image/tiff": "tiff",
}


def mime_from_filename(name: str | None) -> str | None:
    """The accepted MIME type a file name's extension suggests, or None."""
    if not name:
        return None
    extension = os.path.splitext(name.strip())[1].lstrip(".").lower()
    return EXTENSION_TO_MIME.get(extension)
