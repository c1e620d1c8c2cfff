"""The transformation engine: geometry and limits. Encoding, metadata, sources, orientation
and animation: test_transform_output.py; effects and watermarks: test_transform_effects.py;
Accept negotiation: test_transform_negotiate.py."""

import io

import pytest
from PIL import Image, ImageStat

from images.transform import parse_transform
from images.transform.engine import Rendered, RenderError, SourceInfo, render
from tests import imagegen

RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 255, 0)
MIMES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}


def encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def info_for(data: bytes) -> SourceInfo:
    image = Image.open(io.BytesIO(data))
    return SourceInfo(
        mime_type=MIMES.get(image.format, "image/png"),
        width=image.width,
        height=image.height,
        is_animated=getattr(image, "is_animated", False),
        has_alpha=image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info,
    )


def run(source, *pairs, accept=None, **options) -> tuple[Rendered, Image.Image]:
    """Render ``source`` (an image, PNG-encoded first, or bytes) for the query ``pairs``."""
    data = encode(source) if isinstance(source, Image.Image) else source
    transform = parse_transform(list(pairs))
    rendered = render(io.BytesIO(data), info_for(data), transform, accept=accept, **options)
    return rendered, Image.open(io.BytesIO(rendered.data))


def png(source, *pairs, **options) -> Image.Image:
    rendered, image = run(source, *pairs, ("format", "png"), **options)
    assert image.size == (rendered.width, rendered.height)
    return image.convert("RGBA")


def halves(width: int = 200, height: int = 100) -> Image.Image:
    """Left half red, right half blue."""
    image = Image.new("RGB", (width, height), RED)
    image.paste(BLUE, (width // 2, 0, width, height))
    return image


def quadrants(size: int = 100) -> Image.Image:
    """Red top-left, green top-right, blue bottom-left, white bottom-right."""
    image = Image.new("RGB", (size, size), RED)
    half = size // 2
    image.paste(GREEN, (half, 0, size, half))
    image.paste(BLUE, (0, half, half, size))
    image.paste((255, 255, 255), (half, half, size, size))
    return image


def near(pixel, color, tolerance: int = 12) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, color, strict=False))


# --- sizes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pairs", "size"),
    [
        ([("width", "100")], (100, 50)),
        ([("height", "50")], (100, 50)),
        ([("width", "100"), ("height", "100"), ("resizing_type", "cover")], (100, 100)),
        ([("width", "100"), ("height", "100"), ("resizing_type", "contain")], (100, 100)),
        ([("width", "100"), ("height", "100"), ("resizing_type", "fill")], (100, 100)),
        ([("width", "100"), ("height", "100"), ("resizing_type", "inside")], (100, 50)),
        ([("width", "100"), ("height", "100"), ("resizing_type", "outside")], (200, 100)),
        ([("width", "100"), ("height", "100")], (100, 100)),
        ([("width", "100"), ("height", "100"), ("resizing_type", "fit")], (100, 50)),
        ([("width", "300"), ("height", "300"), ("resizing_type", "cover")], (200, 200)),
        ([("width", "300"), ("height", "300"), ("resizing_type", "contain")], (300, 300)),
        ([("width", "300"), ("height", "300"), ("resizing_type", "fill")], (300, 200)),
        ([("width", "300"), ("height", "300"), ("resizing_type", "inside")], (300, 150)),
        ([("width", "300"), ("height", "300"), ("resizing_type", "outside")], (400, 200)),
        ([("width", "1000")], (400, 200)),
        ([("width", "1000"), ("enlarge", "true")], (1000, 500)),
        ([("width", "300"), ("height", "300"), ("enlarge", "true")], (300, 300)),
        (
            [("width", "300"), ("height", "300"), ("resizing_type", "outside"), ("el", "1")],
            (600, 300),
        ),
        ([("width", "300"), ("height", "300"), ("resizing_type", "fill"), ("el", "1")], (300, 300)),
        ([("width", "100"), ("dpr", "2")], (200, 100)),
        ([("width", "100"), ("height", "100"), ("dpr", "1.5")], (150, 150)),
        ([("dpr", "0.5")], (200, 100)),
        ([("width", "100"), ("min-height", "80")], (160, 80)),
        ([("min-width", "300")], (400, 200)),
        ([("min-width", "600"), ("enlarge", "true")], (600, 300)),
        ([("width", "100"), ("height", "20"), ("resizing_type", "inside"), ("mh", "40")], (80, 40)),
        ([("crop", "100:100")], (100, 100)),
        ([("crop", "10:20:50:30")], (50, 30)),
        ([("crop", "350:150:100:100")], (50, 50)),
        ([("crop", "100:100"), ("width", "50")], (50, 50)),
        ([("zoom", "2")], (400, 200)),
        ([("zoom", "2"), ("width", "100")], (100, 50)),
        ([("extend_aspect_ratio", "1")], (400, 400)),
        ([("extend_aspect_ratio", "4:1")], (800, 200)),
        ([("extend", "10:20:30:40")], (460, 240)),
        ([("padding", "5:10")], (420, 210)),
        ([("padding", "5"), ("dpr", "2"), ("width", "100")], (220, 120)),
        ([("rotate", "90")], (200, 400)),
        ([("rotate", "90"), ("width", "100")], (100, 200)),
        ([("rotate", "180")], (400, 200)),
        ([("flip", "both")], (400, 200)),
        (
            [("width", "100"), ("height", "100"), ("resizing_type", "contain"), ("pd", "10")],
            (120, 120),
        ),
    ],
)
def test_output_dimensions_follow_each_geometry_parameter(pairs, size):
    rendered, image = run(Image.new("RGB", (400, 200), (90, 120, 150)), *pairs)
    assert (rendered.width, rendered.height) == image.size == size


@pytest.mark.parametrize("algorithm", ["nearest", "cubic", "mitchell", "lanczos2", "lanczos3"])
def test_every_resizing_algorithm_resizes_and_nearest_invents_no_colours(algorithm):
    image = png(halves(), ("width", "73"), ("resizing_algorithm", algorithm))
    assert image.size == (73, 36)
    colours = {c for _, c in image.convert("RGB").getcolors(10_000)}
    if algorithm == "nearest":
        assert colours == {RED, BLUE}
    else:
        assert len(colours) >= 2


def test_rotating_by_an_arbitrary_angle_grows_the_canvas_and_fills_the_background():
    image = png(halves(100, 100), ("rotate", "45:00ff00"))
    assert 140 <= image.width <= 143 and image.width == image.height
    assert near(image.getpixel((1, 1)), (*GREEN, 255))
    assert near(image.getpixel((image.width // 2, image.height // 2 - 20)), (*RED, 255), 40)


def test_rotating_without_a_background_leaves_transparent_corners():
    image = png(halves(100, 100), ("rotate", "30"))
    assert image.getpixel((0, 0))[3] == 0
    assert image.getpixel((image.width // 2, image.height // 2))[3] == 255


@pytest.mark.parametrize(
    ("pairs", "top_left", "bottom_right"),
    [
        ([], RED, (255, 255, 255)),
        ([("rotate", "90")], BLUE, GREEN),
        ([("rotate", "180")], (255, 255, 255), RED),
        ([("rotate", "270")], GREEN, BLUE),
        ([("flip", "horizontal")], GREEN, BLUE),
        ([("flip", "vertical")], BLUE, GREEN),
        ([("flip", "both")], (255, 255, 255), RED),
        ([("flip", "true:false")], GREEN, BLUE),
    ],
)
def test_rotate_is_clockwise_and_flip_mirrors(pairs, top_left, bottom_right):
    image = png(quadrants(), *pairs)
    assert image.getpixel((5, 5))[:3] == top_left
    assert image.getpixel((image.width - 5, image.height - 5))[:3] == bottom_right


@pytest.mark.parametrize(
    ("pairs", "colour"),
    [
        ([("crop", "100:100:east")], BLUE),
        ([("crop", "100:100:west")], RED),
        ([("crop", "100:100"), ("gravity", "east")], BLUE),
        ([("crop", "120:100:w")], None),
        ([("crop", "0:0:60:100")], RED),
        ([("crop", "150:0:50:100")], BLUE),
        ([("width", "100"), ("height", "100"), ("gravity", "east")], BLUE),
        ([("width", "100"), ("height", "100"), ("gravity", "west")], RED),
        ([("width", "50"), ("height", "50"), ("g", "sowe")], RED),
        ([("zoom", "2:west")], RED),
        ([("zoom", "2"), ("gravity", "east")], BLUE),
    ],
)
def test_crop_zoom_and_cover_keep_the_side_the_gravity_names(pairs, colour):
    image = png(halves(), *pairs)
    area = image.width * image.height
    colours = {c for n, c in image.convert("RGB").getcolors(area) if n > area / 10}
    if colour is None:
        assert RED in colours and BLUE in colours
        assert image.getpixel((0, 50))[:3] == RED
    else:
        assert colours == {colour}


def test_zoom_shows_the_middle_at_the_original_size():
    source = Image.new("RGB", (200, 100), (0, 0, 0))
    source.paste(GREEN, (50, 25, 150, 75))
    image = png(source, ("zoom", "2"))
    assert image.size == (200, 100)
    assert near(image.getpixel((10, 10)), (*GREEN, 255))


def test_a_crop_outside_the_image_is_a_400():
    with pytest.raises(RenderError) as caught:
        run(halves(), ("crop", "500:10:20:20"))
    assert caught.value.status == 400 and "outside" in caught.value.message


def test_attention_keeps_the_colourful_detailed_subject():
    source = Image.new("RGB", (300, 100), (128, 128, 128))
    for x in range(230, 290, 6):
        source.paste((230, 40, 40), (x, 20, x + 3, 80))
        source.paste((240, 190, 150), (x + 3, 20, x + 6, 80))
    image = png(source, ("width", "100"), ("height", "100"), ("gravity", "attention"))
    assert image.size == (100, 100)
    assert ImageStat.Stat(image.convert("RGB")).stddev[0] > 20


def test_thumbnail_preset_uses_attention_and_stays_square_without_enlarging():
    source = Image.new("RGB", (120, 80), (128, 128, 128))
    transform = parse_transform([], "thumbnail")
    data = encode(source)
    rendered = render(io.BytesIO(data), info_for(data), transform)
    assert (rendered.width, rendered.height) == (80, 80)


def test_entropy_keeps_the_busiest_window():
    source = Image.new("L", (300, 100), 200)
    noise = Image.effect_noise((80, 80), 90)
    source.paste(noise, (10, 10))
    image = png(source, ("crop", "100:100:entropy"))
    assert ImageStat.Stat(image.convert("L")).stddev[0] > 30


def test_extend_and_padding_paint_their_borders():
    image = png(Image.new("RGB", (40, 20), BLUE), ("extend", "10:0:0:5:00ff00"), ("padding", "3"))
    assert image.size == (51, 36)
    assert image.getpixel((0, 0))[3] == 0  # padding: transparent by default
    assert image.getpixel((5, 5))[:3] == GREEN  # extend: its own background
    assert image.getpixel((30, 25))[:3] == BLUE


def test_background_paints_transparent_fills_and_jpeg_flattens_them_white():
    flat = png(Image.new("RGB", (40, 20), BLUE), ("padding", "4"), ("background", "ff0000"))
    assert flat.getpixel((1, 1)) == (255, 0, 0, 255)
    _, jpeg = run(Image.new("RGB", (40, 20), BLUE), ("padding", "4"), ("format", "jpeg"))
    assert near(jpeg.getpixel((1, 1)), (255, 255, 255))


def test_contain_letterboxes_with_the_background_colour():
    _, image = run(
        halves(),
        ("width", "100"),
        ("height", "100"),
        ("resizing_type", "contain"),
        ("background", "00ff00"),
        ("format", "png"),
    )
    assert image.size == (100, 100)
    assert image.getpixel((50, 5))[:3] == GREEN
    assert image.getpixel((10, 50))[:3] == RED


def test_extend_aspect_ratio_centres_the_picture():
    image = png(halves(100, 50), ("extend_aspect_ratio", "1:1"), ("background", "ffffff"))
    assert image.size == (100, 100)
    assert image.getpixel((50, 5))[:3] == (255, 255, 255)
    assert image.getpixel((10, 50))[:3] == RED


# --- limits and hostile requests ------------------------------------------------------------


@pytest.mark.parametrize(
    "pairs",
    [
        [("extend", "8192:8192:8192:8192")],
        [("padding", "8192")],
        [("width", "8192"), ("height", "8192"), ("enlarge", "true")],
        [("width", "8192"), ("dpr", "8"), ("enlarge", "true")],
        [("extend_aspect_ratio", "8192")],
        [("min-width", "8192"), ("min-height", "8192"), ("el", "1")],
    ],
)
def test_requests_over_the_output_limits_are_400s_naming_the_limit(pairs):
    with pytest.raises(RenderError) as caught:
        run(Image.new("RGB", (64, 64), BLUE), *pairs)
    assert caught.value.status == 400
    assert "8192" in caught.value.message or "limit" in caught.value.message


def test_the_output_area_limit_is_configurable():
    with pytest.raises(RenderError) as caught:
        run(halves(), ("width", "100"), max_output_pixels=1000)
    assert caught.value.status == 400 and "1,000" in caught.value.message


@pytest.mark.parametrize(
    "pairs",
    [
        [("blur", "100")],
        [("blur", "100"), ("sharpen", '{"sigma":100,"m1":1000000,"m2":1000000}')],
        [("zoom", "10"), ("pixelate", "256"), ("rotate", "33.3:ff000080")],
        [("crop", "1:1"), ("width", "8192"), ("enlarge", "true")],
    ],
)
def test_hostile_requests_succeed_within_the_limits_or_fail_with_render_error(pairs):
    try:
        rendered, image = run(Image.new("RGB", (1500, 1000), (10, 200, 30)), *pairs)
    except RenderError as error:
        assert 400 <= error.status < 500
    else:
        assert max(image.size) <= 8192 and rendered.width * rendered.height <= 50_000_000


def test_an_animation_too_big_to_decode_is_refused():
    with pytest.raises(RenderError) as caught:
        run(imagegen.gif_bomb(5000, 5000, 100), ("width", "10"), ("format", "gif"))
    assert caught.value.status == 400


@pytest.mark.parametrize("data", [imagegen.truncated_jpeg(), b"not an image at all"])
def test_broken_originals_are_500s(data):
    info = SourceInfo("image/jpeg", 256, 192)
    with pytest.raises(RenderError) as caught:
        render(io.BytesIO(data), info, parse_transform([("width", "10")]))
    assert caught.value.status == 500
