"""format=auto: the output format negotiated from real browsers' Accept headers."""

import io

import pytest
from PIL import Image

from images.transform import parse_transform
from images.transform.engine import SourceInfo, choose_format, render
from images.transform.negotiate import parse_accept

CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
SAFARI = (
    "image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,"
    "image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"
)
FIREFOX = "image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"
OLD_CHROME = "image/webp,image/apng,image/*,*/*;q=0.8"
CURL = "*/*"

PHOTO = SourceInfo("image/jpeg", 400, 300)
LOGO = SourceInfo("image/png", 64, 64, has_alpha=True)
ANIMATION = SourceInfo("image/gif", 64, 64, is_animated=True)
AUTO = parse_transform([])


@pytest.mark.parametrize(
    ("accept", "source", "expected"),
    [
        (CHROME, PHOTO, "avif"),
        (SAFARI, PHOTO, "avif"),
        (FIREFOX, PHOTO, "avif"),
        (OLD_CHROME, PHOTO, "webp"),
        (CURL, PHOTO, "webp"),
        ("image/*", LOGO, "webp"),
        (None, PHOTO, "jpeg"),
        ("", LOGO, "png"),
        (None, ANIMATION, "gif"),
        (CHROME, ANIMATION, "avif"),
        ("image/png,image/*;q=0.8", PHOTO, "jpeg"),
        ("image/jpeg", LOGO, "png"),
        ("image/avif;q=0,image/webp,*/*", PHOTO, "webp"),
        ("image/avif;q=0,*/*", PHOTO, "webp"),
        ("image/webp;q=0,*/*", PHOTO, "jpeg"),
        ("image/avif;q=0,image/webp;q=0,*/*;q=0.8", LOGO, "png"),
        ("*/*;q=0", PHOTO, "jpeg"),
        ("IMAGE/AVIF ; Q=0.5", PHOTO, "avif"),
        ("text/html,application/xhtml+xml", PHOTO, "jpeg"),
        ("image/webp;q=oops", PHOTO, "webp"),
    ],
)
def test_auto_format_follows_the_accept_header(accept, source, expected):
    assert choose_format(AUTO, source, accept) == (expected, True)


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp", "avif", "gif", "tiff"])
def test_an_explicit_format_is_not_negotiated(fmt):
    transform = parse_transform([("format", fmt)])
    assert choose_format(transform, PHOTO, CHROME) == (fmt, False)


def test_format_auto_equals_no_format():
    assert choose_format(parse_transform([("f", "auto")]), PHOTO, CURL) == ("webp", True)


def test_accept_parsing_keeps_the_highest_q_per_type():
    assert parse_accept("image/webp;q=0.2, image/webp;q=0.9, */*;q=0") == {
        "image/webp": 0.9,
        "*/*": 0.0,
    }


@pytest.mark.parametrize(
    ("accept", "content_type", "magic"),
    [
        (CHROME, "image/avif", b"ftyp"),
        (OLD_CHROME, "image/webp", b"WEBP"),
        (None, "image/jpeg", b"\xff\xd8\xff"),
    ],
)
def test_render_reports_the_negotiated_format(accept, content_type, magic):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 20, 30)).save(buffer, "PNG")
    rendered = render(io.BytesIO(buffer.getvalue()), PHOTO, parse_transform([]), accept=accept)
    assert rendered.content_type == content_type and rendered.negotiated
    assert magic in rendered.data[:16]
