"""Files whose pixel data does not cover the frame their header claims are quarantined:
decoders pad what is missing (libjpeg with grey, Pillow's PNG decoder with nothing), so
without these checks a few KB could become a READY 240 MP image."""

import io
import math
import struct
import zlib

import pytest
from PIL import Image as PILImage

from images.processing.coverage import _ADAM7
from images.processing.sandbox import inspect_image
from tests.uploads import upload


def encoded(image: PILImage.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def noise(width: int, height: int, mode: str = "RGB") -> PILImage.Image:
    return PILImage.effect_noise((width, height), 60).convert(mode)


def jpeg_claiming(width: int, height: int) -> bytes:
    """A real ~60 KB JPEG whose frame header is rewritten to claim ``width`` x ``height``."""
    data = bytearray(encoded(noise(300, 200), "JPEG", quality=90))
    frame = data.find(b"\xff\xc0")
    struct.pack_into(">HH", data, frame + 5, height, width)
    return bytes(data)


def cut_with_end_marker(data: bytes) -> bytes:
    """The first part of a JPEG's scan, then its end marker: libjpeg pads the rest."""
    return data[: len(data) * 2 // 5] + b"\xff\xd9"


def grey_bottom(width: int, height: int, mode: str) -> PILImage.Image:
    """Noise on top, exact #808080 below: an honest picture that decodes like padding."""
    picture = PILImage.new("RGB", (width, height), (128, 128, 128))
    picture.paste(noise(width, height // 2), (0, 0))
    return picture.convert(mode)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(width: int, height: int, rows: bytes, interlaced: bool = False) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, int(interlaced))
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows))
        + _chunk(b"IEND", b"")
    )


def rows_of(picture: PILImage.Image) -> bytes:
    stride = picture.width * 3
    raw = picture.tobytes()
    return b"".join(b"\x00" + raw[y * stride : (y + 1) * stride] for y in range(picture.height))


def adam7_rows_of(picture: PILImage.Image) -> bytes:
    pixels, out = picture.load(), []
    for x0, y0, dx, dy in _ADAM7:
        if math.ceil((picture.width - x0) / dx) and math.ceil((picture.height - y0) / dy):
            for y in range(y0, picture.height, dy):
                row = b"".join(bytes(pixels[x, y]) for x in range(x0, picture.width, dx))
                out.append(b"\x00" + row)
    return b"".join(out)


@pytest.fixture
def inspect(tmp_path):
    def run(data: bytes, mime: str):
        path = tmp_path / "upload"
        path.write_bytes(data)
        return inspect_image(str(path), mime)

    return run


@pytest.mark.django_db(transaction=True)
def test_a_small_jpeg_claiming_240_megapixels_is_quarantined_with_a_reason(owner, stub_worker):
    data = jpeg_claiming(20000, 12000)
    assert len(data) < 100_000
    image_id = upload(owner.server, data, "image/jpeg", "panorama.jpg")
    stub_worker()
    image = owner.server.get(f"/api/v1/images/{image_id}").json()
    assert image["status"] == "QUARANTINE"
    assert "cannot cover its 20000x12000 frame" in image["status_reason"]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: jpeg_claiming(20000, 12000), "cannot cover its 20000x12000 frame"),
        (
            lambda: cut_with_end_marker(encoded(noise(640, 480), "JPEG")),
            "ends before its 640x480 frame does",
        ),
        (
            lambda: cut_with_end_marker(encoded(noise(640, 480, "L"), "JPEG", optimize=True)),
            "ends before its 640x480 frame does",
        ),
        (
            lambda: cut_with_end_marker(encoded(noise(600, 400), "JPEG", subsampling=0)),
            "ends before its 600x400 frame does",
        ),
        (
            lambda: cut_with_end_marker(
                encoded(noise(640, 480), "JPEG", progressive=True)[:2000] + b"\xff\xd9"
            ),
            "cannot cover its 640x480 frame",
        ),
    ],
    ids=["header-claims-more", "cut-scan", "cut-grey-scan", "cut-444-scan", "cut-dc-scan"],
)
def test_a_jpeg_whose_scans_end_before_its_frame_is_refused(inspect, make, reason):
    result = inspect(make(), "image/jpeg")
    assert not result.ok
    assert reason in result.reason


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (png(16000, 15000, rows_of(noise(400, 300))), "cannot cover its 16000x15000 frame"),
        (png(400, 300, rows_of(noise(400, 150))), "cannot cover its 400x300 frame"),
        (png(90, 70, adam7_rows_of(noise(90, 70))[:-500], interlaced=True), "cannot cover"),
    ],
    ids=["header-claims-more", "stream-ends-early", "interlaced-stream-ends-early"],
)
def test_a_png_whose_stream_ends_before_its_rows_is_refused(inspect, data, reason):
    result = inspect(data, "image/png")
    assert not result.ok
    assert reason in result.reason


@pytest.mark.parametrize(
    ("data", "mime"),
    [
        (encoded(grey_bottom(640, 480, "RGB"), "JPEG"), "image/jpeg"),
        (encoded(grey_bottom(640, 480, "RGB"), "JPEG", optimize=True), "image/jpeg"),
        (encoded(grey_bottom(1200, 64, "L"), "JPEG", quality=100), "image/jpeg"),
        (encoded(grey_bottom(640, 480, "CMYK"), "JPEG"), "image/jpeg"),
        (encoded(grey_bottom(640, 480, "RGB"), "JPEG", restart_marker_blocks=1), "image/jpeg"),
        (encoded(PILImage.new("RGB", (3000, 2000), (128, 128, 128)), "JPEG"), "image/jpeg"),
        (encoded(grey_bottom(640, 480, "RGB"), "JPEG", progressive=True), "image/jpeg"),
        (encoded(PILImage.new("RGBA", (500, 400)), "PNG"), "image/png"),
        (encoded(PILImage.new("L", (500, 400)), "PNG", optimize=True), "image/png"),
        (encoded(PILImage.new("I;16", (300, 200)), "PNG"), "image/png"),
        (png(90, 70, adam7_rows_of(noise(90, 70)), interlaced=True), "image/png"),
    ],
    ids=[
        "jpeg-grey-bottom",
        "jpeg-optimized-grey-bottom",
        "jpeg-greyscale-grey-bottom",
        "jpeg-cmyk-grey-bottom",
        "jpeg-restarts-grey-bottom",
        "jpeg-all-grey",
        "jpeg-progressive-grey-bottom",
        "png-transparent",
        "png-black",
        "png-16-bit-black",
        "png-interlaced",
    ],
)
def test_honest_files_that_decode_like_padding_still_verify(inspect, data, mime):
    result = inspect(data, mime)
    assert result.ok, result.reason
