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


_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}


def sniff_mime(head: bytes) -> str | None:
    """The accepted type the first bytes of a file announce (magic numbers), or None.

    A cheap first guess for naming a fetched file; the decoding sandbox has the final word.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        box_size = int.from_bytes(head[:4], "big")
        brands = {head[8:12]} | {
            head[i : i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)
        }
        if brands & _AVIF_BRANDS:
            return "image/avif"
        if brands & _HEIF_BRANDS:
            return "image/heic"
        return None
    if head.startswith((b"\xff\x0a", b"\x00\x00\x00\x0cJXL \r\n\x87\n")):
        return "image/jxl"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "image/tiff"
    if head.startswith(b"BM"):
        return "image/bmp"
    if head.startswith(b"\x00\x00\x01\x00"):
        return "image/vnd.microsoft.icon"
    return None
