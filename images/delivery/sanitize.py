"""Lossless metadata stripping for delivering originals.

An untransformed request serves the original bytes, but never its metadata (GPS above all).
For JPEG, PNG and WebP the metadata segments are cut out without touching the pixels; a
JPEG keeps only its orientation (a minimal EXIF block), so it still displays upright.
Returns None when a file cannot be stripped losslessly; the caller re-encodes it instead.
"""

import struct

from PIL import Image

_JPEG_KEEP_APP2 = b"ICC_PROFILE\x00"
_PNG_KEEP = {
    b"IHDR",
    b"PLTE",
    b"IDAT",
    b"IEND",
    b"tRNS",
    b"gAMA",
    b"cHRM",
    b"sRGB",
    b"iCCP",
    b"sBIT",
    b"pHYs",
    b"bKGD",
    b"acTL",
    b"fcTL",
    b"fdAT",
    b"cICP",
}
_WEBP_DROP = {b"EXIF", b"XMP "}


def _orientation_segment(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[274] = orientation
    body = exif.tobytes()
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def strip_jpeg(data: bytes, orientation: int) -> bytes | None:
    if not data.startswith(b"\xff\xd8"):
        return None
    out = [b"\xff\xd8"]
    if orientation != 1:
        out.append(_orientation_segment(orientation))
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xDA:  # start of scan: entropy-coded data until EOI
            end = data.find(b"\xff\xd9", position)
            if end < 0:
                return None
            # Bytes after the first EOI (MPO's extra pictures, trailers) carry their own
            # metadata and are not part of the picture a browser shows: dropped.
            out.append(data[position : end + 2])
            return b"".join(out)
        length = struct.unpack(">H", data[position + 2 : position + 4])[0]
        segment = data[position : position + 2 + length]
        drop = (
            marker in (0xE1, 0xED, 0xFE)  # EXIF/XMP, IPTC/Photoshop, comments
            or (0xE3 <= marker <= 0xEF)  # vendor APPn blocks
            or (marker == 0xE2 and segment[4:16] != _JPEG_KEEP_APP2)
        )
        if not drop:
            out.append(segment)
        position += 2 + length
    return None


def strip_png(data: bytes) -> bytes | None:
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        return None
    out = [data[:8]]
    position = 8
    while position + 12 <= len(data):
        length = struct.unpack(">I", data[position : position + 4])[0]
        kind = data[position + 4 : position + 8]
        chunk = data[position : position + 12 + length]
        if len(chunk) != 12 + length:
            return None
        if kind in _PNG_KEEP:
            out.append(chunk)
        elif not (kind[0] & 0x20):  # an unknown critical chunk: do not guess
            return None
        position += 12 + length
        if kind == b"IEND":
            return b"".join(out)
    return None


def strip_webp(data: bytes) -> bytes | None:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return None
    chunks = []
    position = 12
    while position + 8 <= len(data):
        kind = data[position : position + 4]
        length = struct.unpack("<I", data[position + 4 : position + 8])[0]
        padded = length + (length & 1)
        chunk = bytearray(data[position : position + 8 + padded])
        if len(chunk) < 8 + length:
            return None
        if kind == b"VP8X":
            chunk[8] &= ~0x0C & 0xFF  # clear the EXIF and XMP flags
        if kind not in _WEBP_DROP:
            chunks.append(bytes(chunk))
        position += 8 + padded
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def strip_gif(data: bytes) -> bytes | None:
    """Drop comments and application extensions other than the looping ones.

    Reads the blocks as Pillow (and so verification) does: stray bytes between blocks are
    skipped one at a time and a missing trailer ends the file. Such junk is dropped and the
    trailer written, so a READY GIF is always stripped: the fallback re-encode would shrink
    a GIF over the output limits, or flatten what a browser shows."""
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 13:
        return None
    flags = data[10]
    position = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    out = [data[:position]]
    frames = 0
    try:
        while position < len(data):
            introducer = data[position]
            if introducer == 0x3B:  # trailer
                break
            if introducer == 0x21:
                label = data[position + 1]
                end = _skip_sub_blocks(data, position + 2)
                block = data[position:end]
                keep = label in (0xF9, 0x01) or (
                    label == 0xFF and block[3:14] in (b"NETSCAPE2.0", b"ANIMEXTS1.0")
                )
                if keep:
                    out.append(block)
                position = end
            elif introducer == 0x2C:
                start = position
                local = data[position + 9]
                position += 10 + (3 * 2 ** ((local & 7) + 1) if local & 0x80 else 0)
                position = _skip_sub_blocks(data, position + 1)  # after the LZW code size
                out.append(data[start:position])
                frames += 1
            else:
                position += 1
    except IndexError:
        pass  # a block cut short by the end of the file: keep the complete ones before it
    if not frames:
        return None
    out.append(b"\x3b")
    return b"".join(out)


def _skip_sub_blocks(data: bytes, position: int) -> int:
    while True:
        size = data[position]
        position += 1 + size
        if size == 0:
            return position


def strip_metadata(data: bytes, mime_type: str, orientation: int) -> bytes | None:
    if mime_type == "image/jpeg":
        return strip_jpeg(data, orientation)
    if orientation != 1:
        return None  # only JPEG keeps an orientation tag; others are re-encoded upright
    if mime_type == "image/png":
        return strip_png(data)
    if mime_type == "image/webp":
        return strip_webp(data)
    if mime_type == "image/gif":
        return strip_gif(data)
    return None
