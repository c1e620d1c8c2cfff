"""One pixel limit (IMGWIRE_MAX_PIXELS) in every process that opens an image: whatever
verification accepts, delivery renders, far above Pillow's own default bomb limit."""

import io
import struct
import zlib

import pytest
from PIL import Image as PILImage
from rest_framework.test import APIClient

from images.delivery.sandbox import retire_idle_children, run_sandboxed
from images.processing.limits import apply_pixel_limit, configured_max_pixels
from tests.images import limit_jobs
from tests.uploads import upload

pytestmark = pytest.mark.django_db(transaction=True)
MIB = 1024 * 1024
PILLOW_DEFAULT = 89_478_485  # Image.MAX_IMAGE_PIXELS as Pillow ships it (an error at twice)
BIG_SIDE = 13400  # 179.6 MP: over twice Pillow's default, under IMGWIRE_MAX_PIXELS


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def grey_png(width: int, height: int) -> bytes:
    """A valid, flat 8-bit greyscale PNG of any size, compressed row by row (a few KB)."""
    compressor = zlib.compressobj(1)
    row = b"\x00" + b"\x80" * width
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def encoded(mode: str, size: tuple[int, int], fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    PILImage.new(mode, size, 1 if mode == "1" else 90).save(buffer, fmt, **options)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def fresh_render_children():
    retire_idle_children()
    yield
    retire_idle_children()


def ready(tenant, run_jobs, data: bytes, mime: str, name: str) -> dict:
    image_id = upload(tenant.server, data, mime, name)
    run_jobs()
    image = tenant.server.get(f"/api/v1/images/{image_id}").json()
    assert image["status"] == "READY", image
    return image


def get(image: dict, query: str = "", **headers):
    path = "/cdn/" + image["cdn_url"].split("/cdn/", 1)[1]
    return APIClient().get(path + query, **headers)


def body_of(response) -> PILImage.Image:
    data = b"".join(response.streaming_content) if response.streaming else response.content
    decoded = PILImage.open(io.BytesIO(data))
    decoded.load()
    return decoded


def test_the_web_process_holds_the_configured_limit_not_pillows_default(settings):
    assert settings.IMGWIRE_MAX_PIXELS == 250_000_000
    assert PILImage.MAX_IMAGE_PIXELS == settings.IMGWIRE_MAX_PIXELS


def test_a_render_child_gets_the_limit_it_is_handed_whatever_pillow_defaults_to():
    seen = [
        run_sandboxed(
            limit_jobs.pixel_limit,
            {},
            memory_bytes=1024 * MIB,
            timeout=30,
            max_jobs=3,
            max_pixels=limit,
        )
        for limit in (123_456_789, 250_000_000)
    ]
    assert seen == [123_456_789, 250_000_000]


def test_the_verification_limit_refuses_what_pillow_would_only_warn_about():
    try:
        apply_pixel_limit(1000, refuse_over=True)
        with pytest.raises(PILImage.DecompressionBombWarning):
            PILImage.open(io.BytesIO(grey_png(40, 40)))  # 1 600 pixels: under twice the limit
    finally:
        apply_pixel_limit(configured_max_pixels())


def test_a_png_over_pillows_default_limit_renders_variants_and_its_original(owner, stub_worker):
    image = ready(owner, stub_worker, grey_png(BIG_SIDE, BIG_SIDE), "image/png", "big.png")
    assert image["width"] * image["height"] > 2 * PILLOW_DEFAULT

    variant = get(image, "?width=200&format=png")
    assert variant.status_code == 200, variant.content
    assert body_of(variant).size == (200, 200)

    original = get(image)
    assert original.status_code == 200
    assert body_of(original).size == (BIG_SIDE, BIG_SIDE)


def test_a_jpeg_panorama_over_pillows_default_limit_renders_a_variant(owner, stub_worker):
    data = encoded("L", (16000, 12000), "JPEG", quality=50)
    image = ready(owner, stub_worker, data, "image/jpeg", "panorama.jpg")
    response = get(image, "?width=400&format=jpeg")
    assert response.status_code == 200, response.content
    assert body_of(response).size == (400, 300)


def test_a_large_tiff_is_delivered_untransformed_fitted_inside_the_output_limits(
    owner, stub_worker, settings
):
    data = encoded("1", (19000, 9500), "TIFF", compression="group4")
    image = ready(owner, stub_worker, data, "image/tiff", "scan.tiff")
    assert image["width"] * image["height"] > 2 * PILLOW_DEFAULT

    response = get(image, HTTP_ACCEPT="image/jpeg")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "image/jpeg"
    width, height = body_of(response).size
    assert width == 8192  # the widest side allowed
    assert abs(width / height - 2) < 0.01
    assert width * height <= settings.IMGWIRE_MAX_OUTPUT_PIXELS
