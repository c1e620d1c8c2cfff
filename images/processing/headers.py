"""What an image file's headers claim, read before any pixel is decoded.

Pillow's own frame counts walk a whole file unbounded, and pillow_jxl decodes every pixel
inside ``Image.open``: these readers stop as soon as a claim is over the pixel budget.
Split from ``sandbox_child`` (which runs them in the verification child).

No Django: the decoding sandbox imports this module.
"""

from __future__ import annotations

# Per-frame bookkeeping costs Pillow far more than a tiny frame's pixels, so the pixel budget
# alone would let 100 000 1x1 frames through.
MAX_FRAMES = 10_000
JXL_CONTAINER = b"\x00\x00\x00\x0cJXL \r\n\x87\n"


class Refusal(Exception):
    """The image is not acceptable; the message says why, for a developer."""


def too_many_pixels(width: int, height: int, max_pixels: int, frames: int = 1) -> None:
    if frames > MAX_FRAMES:
        raise Refusal(f"the image has more than {MAX_FRAMES:,} frames")
    if width * height * frames > max_pixels:
        what = f"{width}x{height}" if frames == 1 else f"{frames:,} frames of {width}x{height}"
        raise Refusal(
            f"the image is {what} = {width * height * frames:,} pixels, "
            f"over the limit of {max_pixels:,}"
        )


def over_budget(total: int, max_pixels: int) -> None:
    if total > max_pixels:
        raise Refusal(
            f"the image's frames add up to more than {max_pixels:,} pixels (at least {total:,})"
        )


def gif_frame_count(data: bytes, max_pixels: int) -> int:
    """Count a GIF's frames by walking its blocks, without decoding, stopping as soon as the
    frames times the canvas (the screen grown to cover every frame, as Pillow grows it) are
    over the pixel budget. Pillow's own ``n_frames`` walks the whole file unbounded."""
    if len(data) < 13:
        raise Refusal("the GIF file is truncated inside its header")
    width, height = int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    flags = data[10]
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    frames = 0
    while True:
        if pos >= len(data):
            # Pillow tolerates a missing trailer after complete frames.
            if frames:
                return frames
            raise Refusal("the GIF file is truncated before its first frame")
        block = data[pos]
        if block == 0x3B:
            if not frames:
                raise Refusal("the GIF file has no frames")
            return frames
        if block == 0x21:
            pos += 2
        elif block == 0x2C:
            if pos + 10 > len(data):
                raise Refusal("the GIF file is truncated inside a frame header")
            left, top, w, h = (
                int.from_bytes(data[pos + i : pos + i + 2], "little") for i in (1, 3, 5, 7)
            )
            width, height = max(width, left + w), max(height, top + h)
            frames += 1
            too_many_pixels(width, height, max_pixels, frames)
            local = data[pos + 9]
            pos += 10 + (3 << ((local & 7) + 1) if local & 0x80 else 0) + 1
        else:
            # Pillow skips stray bytes between blocks one at a time; count frames the same way.
            pos += 1
            continue
        # Data sub-blocks, ended by a zero-length one.
        while pos < len(data) and data[pos]:
            pos += data[pos] + 1
        pos += 1


class _BitReader:
    def __init__(self, data: bytes):
        self.data, self.bit = data, 0

    def read(self, count: int) -> int:
        value = 0
        for i in range(count):
            byte = self.bit >> 3
            if byte >= len(self.data):
                raise Refusal("the JPEG XL file is truncated inside its header")
            value |= ((self.data[byte] >> (self.bit & 7)) & 1) << i
            self.bit += 1
        return value

    def dimension(self) -> int:
        return self.read((9, 13, 18, 30)[self.read(2)]) + 1


_JXL_RATIOS = ((1, 1), (12, 10), (4, 3), (3, 2), (16, 9), (5, 4), (2, 1))


def jxl_dimensions(data: bytes) -> tuple[int, int]:
    """Width and height from a JPEG XL SizeHeader (ISO/IEC 18181-1). pillow_jxl decodes the
    whole image inside ``Image.open``, so this is the only look before the pixels exist."""
    codestream = data
    if data[:12] == JXL_CONTAINER:
        pos, codestream = 0, b""
        while pos + 8 <= len(data):
            size, kind = int.from_bytes(data[pos : pos + 4], "big"), data[pos + 4 : pos + 8]
            header = 8
            if size == 1:
                size, header = int.from_bytes(data[pos + 8 : pos + 16], "big"), 16
            end = len(data) if size == 0 else pos + size
            if kind == b"jxlc":
                codestream = data[pos + header : end]
                break
            if kind == b"jxlp":
                codestream = data[pos + header + 4 : end]
                break
            if size < header and size != 0:
                break
            pos = end
    if codestream[:2] != b"\xff\x0a":
        raise Refusal("the JPEG XL file has no readable codestream header")
    bits = _BitReader(codestream[2:])
    small = bits.read(1)
    height = (bits.read(5) + 1) * 8 if small else bits.dimension()
    ratio = bits.read(3)
    if ratio:
        numerator, denominator = _JXL_RATIOS[ratio - 1]
        width = height * numerator // denominator
    else:
        width = (bits.read(5) + 1) * 8 if small else bits.dimension()
    return width, height


def frame_count(image, data: bytes, max_pixels: int) -> int:
    width, height = image.size
    if image.format == "GIF":
        return gif_frame_count(data, max_pixels)
    if image.format == "TIFF":
        # Pillow's n_frames parses every IFD in the file; walk them with a budget instead.
        total = 0
        for index in range(MAX_FRAMES + 1):
            try:
                image.seek(index)
            except EOFError:
                image.seek(0)
                return index
            total += image.size[0] * image.size[1]
            over_budget(total, max_pixels)
        raise Refusal(f"the TIFF file has more than {MAX_FRAMES:,} pages")
    frames = int(getattr(image, "n_frames", 1) or 1)
    too_many_pixels(width, height, max_pixels, frames)
    return frames
