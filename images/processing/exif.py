"""The EXIF an inspection reports: readable, JSON-safe, bounded, and without location.

Split from ``sandbox_child`` (which runs it in the verification child). No Django.
"""

from __future__ import annotations

import contextlib

MAX_EXIF_STRING = 1000
MAX_EXIF_LIST = 64

# Pointers (GPS, Exif, Interop, SubIFDs), strip/tile layout, the thumbnail, colour tables,
# and blobs: XMP, IPTC and Photoshop resources (all three can repeat the GPS position in their
# own encodings), the ICC profile, MakerNote, PrintIM, DNG private data and padding.
_EXIF_DROPPED_TAGS = frozenset({
    0x8825, 0x8769, 0xA005, 0x014A, 0x0111, 0x0117, 0x0144, 0x0145, 0x0201, 0x0202,
    0x0140, 0x012D, 0x02BC, 0x83BB, 0x8649, 0x8773, 0x927C, 0xC4A5, 0xC634, 0xEA1C,
})  # fmt: skip
_USER_COMMENT_PREFIXES = (b"ASCII\x00\x00\x00", b"\x00" * 8)


def _json_value(value):
    """A JSON-safe copy of an EXIF value, or None to drop it."""
    from PIL.TiffImagePlugin import IFDRational

    if isinstance(value, int):
        return value
    if isinstance(value, IFDRational | float):
        if isinstance(value, IFDRational) and not value.denominator:
            return None
        number = float(value)
        return number if number == number and abs(number) != float("inf") else None
    if isinstance(value, bytes):
        for prefix in _USER_COMMENT_PREFIXES:
            if value.startswith(prefix):
                value = value[len(prefix) :]
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if isinstance(value, str):
        text = value.replace("\x00", "").strip()
        if not text or not all(ch.isprintable() or ch in "\t\n\r" for ch in text):
            return None
        return text[:MAX_EXIF_STRING]
    if isinstance(value, tuple | list) and 0 < len(value) <= MAX_EXIF_LIST:
        items = [_json_value(item) for item in value]
        return None if any(item is None for item in items) else items
    return None


def readable_exif(image) -> dict:
    """Named EXIF tags from the main IFD and the Exif sub-IFD, with every GPS tag removed."""
    from PIL import ExifTags

    exif = image.getexif()
    entries = dict(exif.items())
    # A broken Exif sub-IFD leaves the main tags usable.
    with contextlib.suppress(Exception):
        entries.update(exif.get_ifd(ExifTags.IFD.Exif))
    readable = {}
    for tag, raw in entries.items():
        name = ExifTags.TAGS.get(tag)
        if not name or tag in _EXIF_DROPPED_TAGS or name.startswith("GPS"):
            continue
        value = _json_value(raw)
        if value is not None:
            readable[name] = value
    return readable


def orientation(image) -> int:
    try:
        value = int(image.getexif().get(0x0112, 1))
    except (TypeError, ValueError):
        return 1
    return value if 1 <= value <= 8 else 1
