"""Does a file's compressed pixel data cover the frame its header claims?

Decoders are lenient where we cannot be. libjpeg pads every block after the end of a scan's
data with grey (a warning Pillow discards), and Pillow's PNG decoder stops quietly when the
zlib stream ends before the last row. Either way a file of a few KB could claim a 240 MP
frame and verify as READY, every render then decoding (and every variant storing) a frame
the upload never paid for.

Two passes, each returning why the data falls short, or None. ``data_shortfall`` reads the
file's structure before any pixel is decoded: a JPEG scan shorter than any Huffman coding
of its blocks, a PNG stream shorter than deflate's best ratio allows, an interlaced PNG
whose stream inflates short. ``decoded_shortfall`` looks at the first frame once Pillow has
loaded it, for what only the decoder's output shows: padding. Both cost well under 5% of
a full-size decode for ordinary files (a JPEG's scan walk, ~0.1 ms for 200 KB, is ~5% of
the 1/8-scale decode ``reduce_decode`` asks for); the expensive confirmation runs only on a
suspicious result.

No Django: the decoding sandbox (``sandbox_child``) calls these.
"""

from __future__ import annotations

import contextlib
import math
import re
import zlib

# Huffman-coded frames (baseline, extended sequential, progressive). Arithmetic coding can
# spend less than a bit on a block, and lossless and hierarchical frames are rare enough
# that no floor is drawn for them.
_SEQUENTIAL, _PROGRESSIVE = frozenset({0xC0, 0xC1}), 0xC2
# libjpeg-turbo reads up to 57 bits ahead; an MCU row whose data may be shorter than this
# can be swallowed by that read-ahead, and the row above it then cannot be told complete.
_LAST_ROW_BITS = 256
_OTHER_FRAMES = frozenset({0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def _shortest_codes(segment: bytes, tables: dict) -> None:
    """Record each Huffman table's shortest code length, keyed (class, id)."""
    pos = 0
    while pos + 17 <= len(segment):
        kind, counts = segment[pos], segment[pos + 1 : pos + 17]
        shortest = next((length for length, n in enumerate(counts, 1) if n), None)
        tables[(kind >> 4, kind & 15)] = shortest or 1
        pos += 17 + sum(counts)


# A marker: 0xFF followed by anything but a stuffed zero, a restart (0xD0-0xD7) or another
# 0xFF (a fill byte, whose follower is looked at in turn).
_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _segment_end(data: bytes, pos: int) -> int | None:
    """Where the entropy-coded segment from ``pos`` ends: at the first marker other than a
    stuffed zero, a restart or a fill byte (None: at the end of the file). One regular
    expression search: a Huffman-coded scan holds a stuffed 0xFF00 every ~100 bytes (~2 000
    in a 200 KB photo), which a find loop visits one by one in Python, ~4x slower."""
    found = _MARKER.search(data, pos)
    return found.start() if found else None


def _scan_floor(frame: dict, scan: bytes, tables: dict) -> int:
    """The fewest bits any correct Huffman coding of this scan takes.

    Every block of a sequential scan codes its DC difference and at least one AC symbol
    (an end of block, at worst); a progressive DC scan codes one DC symbol per block (a
    refinement scan, one bit); a progressive AC scan can cover any number of empty blocks
    with one end-of-band run, so it has no useful floor. Tables not defined in the file
    (libjpeg then uses the standard ones) count as one-bit codes.
    """
    count = scan[0]
    if len(scan) < 4 + 2 * count:
        return 0
    start, _end, approximation = scan[1 + 2 * count : 4 + 2 * count]
    progressive = frame["progressive"]
    if progressive and start != 0:
        return 0
    components = frame["components"]
    h_max = max(h for h, _ in components.values())
    v_max = max(v for _, v in components.values())
    width, height = frame["width"], frame["height"]
    bits = 0
    for index in range(count):
        component, selectors = scan[1 + 2 * index], scan[2 + 2 * index]
        if component not in components:
            return 0
        h, v = components[component]
        if count == 1:  # non-interleaved: the component's own blocks
            blocks = math.ceil(math.ceil(width * h / h_max) / 8) * math.ceil(
                math.ceil(height * v / v_max) / 8
            )
        else:  # interleaved: whole MCUs, h x v blocks of this component in each
            blocks = math.ceil(width / (8 * h_max)) * math.ceil(height / (8 * v_max)) * h * v
        if progressive and approximation >> 4:
            per_block = 1
        else:
            per_block = tables.get((0, selectors >> 4), 1)
            if not progressive:
                per_block += tables.get((1, selectors & 15), 1)
        bits += blocks * per_block
    return bits


def jpeg_layout(data: bytes) -> dict | None:
    """The first picture's frame (size, sampling, coding), its scans as (start, stop,
    floor in bits) and where its end-of-image marker is; None when the file is not a
    Huffman-coded JPEG this module can judge."""
    if not data.startswith(b"\xff\xd8"):
        return None
    tables: dict = {}
    frame: dict | None = None
    scans: list[tuple[int, int, int]] = []
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None  # not a marker where one belongs: the decoder has the last word
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:  # end of the first picture (MPO's others follow it)
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # no length field
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        segment = data[pos + 4 : pos + 2 + length]
        pos += 2 + length
        if marker == 0xC4:
            _shortest_codes(segment, tables)
        elif marker in _OTHER_FRAMES:
            return None
        elif marker in _SEQUENTIAL or marker == _PROGRESSIVE:
            if len(segment) < 6:
                return None
            height, width = int.from_bytes(segment[1:3], "big"), int.from_bytes(segment[3:5], "big")
            count = segment[5]
            components = {
                segment[6 + 3 * i]: (segment[7 + 3 * i] >> 4 or 1, segment[7 + 3 * i] & 15 or 1)
                for i in range(count)
                if 8 + 3 * i < len(segment)
            }
            if not (height and width and components):
                return None  # a height defined later (DNL): not ours to judge
            frame = {
                "width": width,
                "height": height,
                "components": components,
                "progressive": marker == _PROGRESSIVE,
                "v_max": max(v for _, v in components.values()),
                "h_max": max(h for h, _ in components.values()),
            }
        elif marker == 0xDA:
            if frame is None or not segment:
                return None
            end = _segment_end(data, pos)
            stop = len(data) if end is None else end
            scans.append((pos, stop, _scan_floor(frame, segment, tables)))
            pos = stop
    if frame is None:
        return None
    eoi = pos if data[pos : pos + 2] == b"\xff\xd9" else None
    return {**frame, "scans": scans, "eoi": eoi, "end": len(data)}


def jpeg_shortfall(layout: dict | None) -> str | None:
    """Why the scans of a Huffman-coded JPEG are too short for its frame, or None."""
    for start, stop, floor in (layout or {}).get("scans", ()):
        if (stop - start) * 8 < floor:
            return (
                ("the file is truncated: " if stop == layout["end"] else "")
                + f"the JPEG's compressed data cannot cover its {layout['width']}x"
                f"{layout['height']} frame: a scan holds {stop - start:,} bytes where any "
                f"encoder needs at least {math.ceil(floor / 8):,}"
            )
    return None


def _extrema(core) -> list[tuple[int, int]]:
    """Each band's (low, high) in one of Pillow's core images (what Image.getextrema does,
    without loading the file again)."""
    if core.bands == 1:
        return [core.getextrema()]
    return [core.getband(band).getextrema() for band in range(core.bands)]


def _scale(image) -> int:
    """The DCT scale a JPEG was decoded at (Pillow's draft: 1, 2, 4 or 8)."""
    return image.decoderconfig[0] if image.format == "JPEG" and image.decoderconfig else 1


def reduce_decode(image, later: dict | None) -> None:
    """Have Pillow decode a Huffman-coded JPEG (``image``, not loaded yet) at 1/8 scale.

    Verification needs the compressed data decoded to its end, not the pixels. At any scale
    libjpeg reads every Huffman code of every scan in order (there is no skipping ahead), so
    a truncated or broken stream fails, or is padded, exactly as at full size; at 1/8 the
    inverse DCT keeps each 8x8 block's mean only and nothing is upsampled, and Pillow holds
    a 64th of the pixels: less decoding, and fewer fresh pages for a child to fault in
    (~750 fewer for a 1280x960 photo). ``jpeg_padding`` reads the same MCU rows at that
    scale: a padded block (every coefficient zero) is exact mid-grey at every scale, where
    at full size the rounding around #808080 hid the padding of some cut files (18 000
    cut, damaged and honest variants compared: those few differ, nothing else).

    Only frames ``jpeg_layout`` can judge (baseline, extended or progressive Huffman):
    lossless and arithmetic-coded ones are decoded as they come, and so is MPO (Pillow would
    keep the scale across its seek to the next picture).
    """
    if image.format == "JPEG" and later and later.get("jpeg"):
        image.draft(None, (1, 1))


def jpeg_padding(image, path: str, layout: dict | None) -> str | None:
    """Why a decoded sequential JPEG (``image``, loaded from ``path``) ends in padding.

    When a scan's data ends early libjpeg decodes every block after it as exact mid-grey
    (a warning Pillow discards), so the bottom MCU rows of a padded picture are flat 127/128
    in every band. So are those of an honest picture with a flat #808080 band: only then
    is the file decoded once more, at 1/8 scale (entropy decoding only), without its final
    marker. libjpeg then stops where the data stops instead of padding: in an honest file
    every MCU row but the last has come out, in a padded one the rows above it are still
    the zeros of the fresh image. A file with a single scan of several MCU rows, and of at
    least _LAST_ROW_BITS of data in its last MCU row (so that row outlasts libjpeg's read-ahead
    of up to 57 bits), can be told apart this way; others are left to the floor above."""
    if not layout or layout["progressive"] or len(layout["scans"]) != 1 or not layout["eoi"]:
        return None
    width, height, v_max = layout["width"], layout["height"], layout["v_max"]
    mcu_rows = math.ceil(height / (8 * v_max))
    scale = _scale(image)  # 8 when reduce_decode had it decoded at 1/8
    if mcu_rows < 3 or image.size != (-(-width // scale), -(-height // scale)):
        return None
    if layout["scans"][0][2] / mcu_rows < _LAST_ROW_BITS:
        return None  # the last row may fit in libjpeg's read-ahead: it cannot tell us apart
    corners = [image.getpixel((x, image.height - 1)) for x in (0, image.width - 1)]
    values = [v for corner in corners for v in (corner if isinstance(corner, tuple) else (corner,))]
    if any(v not in (127, 128) for v in values):
        return None  # the usual answer, in a microsecond
    top = (mcu_rows - 2) * 8 * v_max // scale
    band = _extrema(image.im.crop((0, top, image.width, image.height)))
    if not all(low == high and low in (127, 128) for low, high in band):
        return None
    import io

    from PIL import Image

    with open(path, "rb") as handle:
        head = handle.read(layout["eoi"])
    try:
        with Image.open(io.BytesIO(head), formats=["JPEG"]) as again:
            again.draft(None, (width // 8, height // 8))
            with contextlib.suppress(OSError):  # "image file is truncated": no final marker
                again.load()
            row = (mcu_rows - 1) * 8 * v_max // again.decoderconfig[0] - 1
            # The core image: Image.crop would try to load the truncated file again.
            seen = _extrema(again.im.crop((0, row, again.size[0], row + 1)))
    except MemoryError:
        raise
    except Exception:  # e.g. an MPO index pointing past the cut: no answer, no refusal
        return None
    if any(high for _, high in seen):
        return None
    return (
        f"the JPEG's compressed data ends before its {width}x{height} frame does: the "
        "decoder filled the rest in grey"
    )


_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
# Adam7 passes: (x start, y start, x step, y step).
_ADAM7 = (
    (0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
    (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2),
)  # fmt: skip
_INFLATE_STEP = 1024 * 1024


def _png_rows_bytes(width: int, height: int, bits_per_pixel: int, interlaced: bool) -> int:
    def size(w: int, h: int) -> int:
        return h * (1 + math.ceil(w * bits_per_pixel / 8)) if w and h else 0

    if not interlaced:
        return size(width, height)
    return sum(
        size(math.ceil((width - x) / dx), math.ceil((height - y) / dy)) for x, y, dx, dy in _ADAM7
    )


def png_shortfall(data: bytes) -> str | None:
    """Why the IDAT stream of a PNG inflates to fewer bytes than its rows need, or None.

    Inflates the stream once more, counting bytes only (a megabyte at a time), and stops
    as soon as the rows are covered."""
    if not data.startswith(b"\x89PNG\r\n\x1a\n") or data[12:16] != b"IHDR" or len(data) < 29:
        return None
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    depth, colour, interlace = data[24], data[25], data[28]
    if colour not in _PNG_CHANNELS:
        return None
    needed = _png_rows_bytes(width, height, depth * _PNG_CHANNELS[colour], interlace == 1)
    inflater, produced, pos = zlib.decompressobj(), 0, 8
    try:
        while pos + 12 <= len(data) and produced < needed:
            length = int.from_bytes(data[pos : pos + 4], "big")
            kind = data[pos + 4 : pos + 8]
            if kind == b"IDAT":
                pending = data[pos + 8 : pos + 8 + length]
                while pending and produced < needed:
                    produced += len(inflater.decompress(pending, _INFLATE_STEP))
                    pending = inflater.unconsumed_tail
            elif kind == b"IEND":
                break
            pos += 12 + length
    except zlib.error:
        return None  # corrupt, not short: the decoder reports it
    if produced >= needed:
        return None
    return (
        # A stream that has not ended ran out of file; one that has ended was too short.
        ("" if inflater.eof else "the file is truncated: ")
        + f"the PNG's pixel data cannot cover its {width}x{height} frame: it inflates to "
        f"{produced:,} bytes where its rows need {needed:,}"
    )


# Deflate never expands less than this: 258-byte matches in 2 bits, roughly (RFC 1951).
_DEFLATE_BEST_RATIO = 1032


def png_stream_floor(data: bytes) -> str | None:
    """Why a PNG's IDAT chunks are too few bytes for its rows at any compression, or None."""
    if data[12:16] != b"IHDR" or len(data) < 29 or data[25] not in _PNG_CHANNELS:
        return None
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    bits = data[24] * _PNG_CHANNELS[data[25]]
    needed = _png_rows_bytes(width, height, bits, data[28] == 1)
    stream, pos = 0, 8
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        if data[pos + 4 : pos + 8] == b"IDAT":
            stream += min(length, len(data) - pos - 12)
        pos += 12 + length
    if stream * _DEFLATE_BEST_RATIO >= needed:
        return None
    return (
        f"the PNG's pixel data cannot cover its {width}x{height} frame: {stream:,} "
        f"compressed bytes where its rows need {needed:,} (at least "
        f"{math.ceil(needed / _DEFLATE_BEST_RATIO):,} compressed)"
    )


def png_interlaced(data: bytes) -> bool:
    return data[12:16] == b"IHDR" and data[28:29] == b"\x01"


def png_padding(image, path: str) -> str | None:
    """Why a decoded, non-interlaced PNG (``image``, loaded from ``path``) stops short.

    Pillow writes rows top down into a zeroed image and stops quietly when the stream
    ends, so a short file leaves its last row all zeros. Only then (an honest last row of
    black or transparent pixels looks the same) is the stream inflated again to count."""
    if any(high for _, high in _extrema(image.im.crop((0, image.height - 1, *image.size)))):
        return None
    with open(path, "rb") as handle:
        return png_shortfall(handle.read())


def data_shortfall(pillow_format: str, data: bytes) -> tuple[str | None, dict | None]:
    """The check on the file's bytes, before any pixel is decoded: why the data falls short
    (or None), and what ``decoded_shortfall`` needs to look again once the image is
    loaded (None: nothing to look at)."""
    if pillow_format in ("JPEG", "MPO"):
        layout = jpeg_layout(data)
        return jpeg_shortfall(layout), {"jpeg": layout}
    if pillow_format == "PNG":
        if png_interlaced(data):  # rows arrive in seven passes: count them up front
            return png_shortfall(data), None
        return png_stream_floor(data), {"png": True}
    return None, None


def decoded_shortfall(image, path: str, later: dict | None) -> str | None:
    """The check on the first frame once Pillow has loaded it from ``path``."""
    if not later:
        return None
    if "png" in later:
        return png_padding(image, path)
    return jpeg_padding(image, path, later["jpeg"])
