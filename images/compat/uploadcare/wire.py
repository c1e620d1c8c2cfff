"""Uploadcare's file info object, from an Imgwire image (the Upload API's ``info/``)."""

import re

from images.models import Image, ImageStatus

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._]")
# EXIF names Uploadcare reports in image_info (GPS is never in exif_data: the verifier
# drops every GPS tag, so geo_location is always null).
_DATETIME_ORIGINAL = "DateTimeOriginal"


def sanitized_filename(name: str) -> str:
    """Uploadcare's ``filename``: only letters, digits, dots and underscores."""
    return _UNSAFE_NAME.sub("", name) or "file"


def _image_info(image: Image) -> dict | None:
    if image.status != ImageStatus.READY:
        return None
    subtype = image.mime_type.split("/", 1)[1]
    return {
        "color_mode": "RGBA" if image.has_alpha else "RGB",
        "orientation": image.orientation if image.orientation != 1 else None,
        "format": subtype.upper(),
        "sequence": image.is_animated,
        "height": image.height,
        "width": image.width,
        "geo_location": None,
        "datetime_original": (image.exif_data or {}).get(_DATETIME_ORIGINAL),
        "dpi": None,
    }


def file_info(image: Image, *, is_stored: bool) -> dict:
    mime = image.mime_type
    image_info = _image_info(image)
    return {
        "uuid": str(image.id),
        "file_id": str(image.id),
        "size": image.size_bytes,
        "total": image.size_bytes,
        "done": image.size_bytes,
        "original_filename": image.original_filename,
        "filename": sanitized_filename(image.original_filename),
        "mime_type": mime,
        "image_info": image_info,
        "video_info": None,
        "content_info": {
            "mime": {"mime": mime, "type": mime.split("/", 1)[0], "subtype": mime.split("/")[1]},
            "image": image_info,
        },
        "metadata": dict(image.custom_metadata or {}),
        "is_image": True,
        "is_stored": is_stored,
        "is_ready": image.status == ImageStatus.READY,
        "url": image.cdn_url,
    }
