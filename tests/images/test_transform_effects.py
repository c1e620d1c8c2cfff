"""Engine colour effects, watermarks and blend modes: pixel values move as asked."""

import io

import pytest
from PIL import Image, ImageFilter, ImageStat

from images.transform import BLEND_MODES, parse_transform
from images.transform.blend import composite
from images.transform.engine import RenderError, SourceInfo, render
from images.transform.watermark import WatermarkRequest

UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"


def rendered_png(source: Image.Image, *pairs, loader=None) -> Image.Image:
    buffer = io.BytesIO()
    source.save(buffer, "PNG")
    info = SourceInfo("image/png", source.width, source.height, has_alpha=source.mode == "RGBA")
    transform = parse_transform([*pairs, ("format", "png")])
    out = render(io.BytesIO(buffer.getvalue()), info, transform, watermark_loader=loader)
    return Image.open(io.BytesIO(out.data))


def rgb(source: Image.Image, *pairs, **options) -> Image.Image:
    return rendered_png(source, *pairs, **options).convert("RGB")


def stat(image: Image.Image) -> ImageStat.Stat:
    return ImageStat.Stat(image.convert("RGB"))


def noise(size: int = 64) -> Image.Image:
    return Image.merge("RGB", [Image.effect_noise((size, size), 64) for _ in range(3)])


def gray(level: int = 128, size: tuple[int, int] = (40, 40)) -> Image.Image:
    return Image.new("RGB", size, (level, level, level))


def ramp() -> Image.Image:
    """A 64x64 horizontal grey ramp from 64 to 191 (low contrast)."""
    line = Image.linear_gradient("L").rotate(90).resize((64, 64))
    return line.point(lambda v: 64 + v // 2).convert("RGB")


# --- background ----------------------------------------------------------------------------


def test_background_flattens_transparency_and_background_alpha_keeps_some():
    clear = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    flat = rendered_png(clear, ("background", "ff0000"))
    assert flat.mode == "RGB" and flat.getpixel((5, 5)) == (255, 0, 0)
    half = rendered_png(clear, ("background", "ff0000"), ("background_alpha", "0.5"))
    assert half.convert("RGBA").getpixel((5, 5)) == (255, 0, 0, 128)
    alone = rendered_png(clear, ("bga", "1"))
    assert alone.convert("RGBA").getpixel((5, 5)) == (255, 255, 255, 255)


# --- filters -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["true", "2", "0.3"])
def test_blur_lowers_the_variance(value):
    source = noise()
    assert sum(stat(rgb(source, ("blur", value))).var) < 0.8 * sum(stat(source).var)


def _edge_contrast(image: Image.Image) -> int:
    """How much the grey level climbs over the 5 pixels around the edge at x = 32."""
    row = image.convert("L").crop((0, 32, 64, 33)).tobytes()
    return row[34] - row[29]


@pytest.mark.parametrize(
    "value", ["true", "1.5", '{"sigma":2,"m1":0,"m2":3}', '{"sigma":1,"y2":100,"y3":100}']
)
def test_sharpen_raises_edge_contrast(value):
    source = Image.new("RGB", (64, 64), (60, 60, 60))
    source.paste((190, 190, 190), (32, 0, 64, 64))
    soft = source.filter(ImageFilter.GaussianBlur(2))
    assert _edge_contrast(rgb(soft, ("sharpen", value))) > _edge_contrast(soft)


def test_blur_keeps_transparent_pixels_from_bleeding_black():
    source = Image.new("RGBA", (40, 40), (255, 255, 255, 0))
    source.paste((255, 255, 255, 255), (10, 10, 30, 30))
    out = rendered_png(source, ("blur", "3")).convert("RGBA")
    r, g, b, a = out.getpixel((9, 20))
    assert 0 < a < 255 and min(r, g, b) > 240


def test_pixelate_makes_uniform_blocks():
    out = rgb(noise(), ("pixelate", "8"))
    for x in range(0, 64, 8):
        for y in range(0, 64, 8):
            assert len(out.crop((x, y, x + 8, y + 8)).getcolors(64)) == 1


# --- colour --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pairs", "direction"),
    [
        ([("brightness", "1.5")], 1),
        ([("brightness", "0.5")], -1),
        ([("lightness", "1.4")], 1),
        ([("lightness", "0.6")], -1),
        ([("adjust", "1.5")], 1),
        ([("adjust", "0.5:1:1")], -1),
    ],
)
def test_brightness_lightness_and_adjust_move_the_mean(pairs, direction):
    source = gray(110)
    before, after = stat(source).mean[0], stat(rgb(source, *pairs)).mean[0]
    assert (after - before) * direction > 10


def _spread(image: Image.Image) -> float:
    r, g, b = image.convert("RGB").getpixel((5, 5))
    return max(r, g, b) - min(r, g, b)


@pytest.mark.parametrize(
    ("pairs", "direction"),
    [
        ([("saturation", "2")], 1),
        ([("saturation", "0.2")], -1),
        ([("adjust", "1:0.2")], -1),
        ([("adjust", "1:1:2")], 1),
    ],
)
def test_saturation_moves_the_channel_spread(pairs, direction):
    source = Image.new("RGB", (20, 20), (150, 110, 100))
    assert (_spread(rgb(source, *pairs)) - _spread(source)) * direction > 10


def test_hue_rotates_red_towards_cyan():
    r, g, b = rgb(Image.new("RGB", (20, 20), (220, 30, 30)), ("hue", "180")).getpixel((5, 5))
    assert g > r and b > r


@pytest.mark.parametrize(("value", "direction"), [("2", 1), ("0.5", -1), ("1.5:60", 1)])
def test_contrast_moves_the_spread_of_values(value, direction):
    source = ramp()
    before, after = stat(source).stddev[0], stat(rgb(source, ("contrast", value))).stddev[0]
    assert (after - before) * direction > 5


def test_contrast_pivot_is_the_fixed_point():
    source = gray(60)
    assert rgb(source, ("contrast", "3:60")).getpixel((1, 1)) == (60, 60, 60)
    assert rgb(source, ("contrast", "3")).getpixel((1, 1))[0] < 20


def test_colorize_tints_grey_and_keeps_lightness():
    r, g, b = rgb(gray(128), ("colorize", "ff0000")).getpixel((5, 5))
    assert r > g + 40 and r > b + 40
    faint = rgb(gray(128), ("colorize", "ff000033")).getpixel((5, 5))
    assert 0 < faint[0] - faint[1] < r - g


def test_duotone_maps_shadows_and_highlights():
    source = Image.new("RGB", (20, 10), (0, 0, 0))
    source.paste((255, 255, 255), (10, 0, 20, 10))
    out = rgb(source, ("duotone", "0000ff:ffff00"))
    assert out.getpixel((2, 2)) == (0, 0, 255) and out.getpixel((15, 2)) == (255, 255, 0)


def test_monochrome_greys_and_tints():
    plain = rgb(Image.new("RGB", (20, 20), (200, 40, 90)), ("monochrome", "true"))
    r, g, b = plain.getpixel((5, 5))
    assert r == g == b
    tinted = rgb(gray(128), ("monochrome", "ff8800")).getpixel((5, 5))
    assert tinted[0] > tinted[1] > tinted[2]


def test_negate_inverts_colour_and_alpha_only_when_asked():
    source = Image.new("RGBA", (10, 10), (10, 100, 200, 60))
    assert rendered_png(source, ("negate", "true")).getpixel((1, 1)) == (245, 155, 55, 60)
    both = rendered_png(source, ("negate", "alpha:true")).getpixel((1, 1))
    assert both == (245, 155, 55, 195)


@pytest.mark.parametrize("value", ["true", "5:95"])
def test_normalize_stretches_a_low_contrast_image(value):
    low, high = stat(ramp()).extrema[0]
    out_low, out_high = stat(rgb(ramp(), ("normalize", value))).extrema[0]
    assert out_low < low - 30 and out_high > high + 30


@pytest.mark.parametrize(
    ("value", "first", "last"),
    [
        ("ff0000,0000ff", (5, 2), (5, 37)),  # default 180: top to bottom
        ("ff0000,0000ff:90", (2, 5), (37, 5)),  # left to right
        ("ff0000,0000ff:0", (5, 37), (5, 2)),  # bottom to top
    ],
)
def test_gradient_runs_from_the_first_colour_along_its_angle(value, first, last):
    out = rgb(gray(128), ("gradient", value))
    assert out.getpixel(first)[0] > 200 and out.getpixel(last)[2] > 200


def test_gradient_opacity_and_blend_modulate_the_overlay():
    half = rgb(gray(128), ("gradient", "ffffff,ffffff:180:0.5")).getpixel((5, 5))
    assert 180 < half[0] < 200
    multiplied = rgb(gray(200), ("gradient", "ff0000,ff0000:180:1:multiply")).getpixel((5, 5))
    assert multiplied == (200, 0, 0)


# --- blend modes ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", BLEND_MODES)
@pytest.mark.parametrize("base_mode", ["RGB", "RGBA"])
def test_every_blend_mode_composites_within_bounds(mode, base_mode):
    base = Image.new(base_mode, (30, 20), (200, 100, 50, 255)[: len(base_mode)])
    layer = Image.new("RGBA", (10, 10), (20, 120, 240, 200))
    out = composite(base, layer, (25, 15), mode, 0.8)
    assert out.size == base.size and out.mode in ("RGB", "RGBA")


@pytest.mark.parametrize(
    ("mode", "inside", "outside"),
    [
        ("over", (0, 0, 255, 255), (255, 255, 255, 255)),
        ("multiply", (0, 0, 255, 255), (255, 255, 255, 255)),
        ("screen", (255, 255, 255, 255), (255, 255, 255, 255)),
        ("dest", (255, 255, 255, 255), (255, 255, 255, 255)),
        ("clear", (0, 0, 0, 0), (0, 0, 0, 0)),
        ("source", (0, 0, 255, 255), (0, 0, 0, 0)),
        ("dest-out", (0, 0, 0, 0), (255, 255, 255, 255)),
        ("difference", (255, 255, 0, 255), (255, 255, 255, 255)),
    ],
)
def test_blend_modes_follow_their_formulas(mode, inside, outside):
    base = Image.new("RGBA", (20, 20), (255, 255, 255, 255))
    out = composite(base, Image.new("RGBA", (10, 10), (0, 0, 255, 255)), (5, 5), mode)
    assert out.convert("RGBA").getpixel((8, 8)) == inside
    assert out.convert("RGBA").getpixel((1, 1)) == outside


# --- watermarks ----------------------------------------------------------------------------


def red_mark(request: WatermarkRequest) -> Image.Image:
    assert request.kind in ("image_id", "url")
    return Image.new("RGB", (20, 20), (255, 0, 0))


WHITE = Image.new("RGB", (200, 100), (255, 255, 255))


@pytest.mark.parametrize(
    ("pairs", "marked", "clean"),
    [
        ([("watermark", f"{UUID}:southeast")], (195, 95), (5, 5)),
        ([("watermark", f"{UUID}:northwest")], (5, 5), (195, 95)),
        ([("watermark", f"{UUID}:southeast:-10:-10")], (175, 75), (195, 95)),
        ([("watermark", f"{UUID}:northwest:-10:-10")], (25, 25), (5, 5)),
        ([("watermark", UUID), ("watermark_position", "southwest:-4:-4")], (10, 90), (2, 98)),
        ([("watermark", UUID)], (100, 50), (5, 5)),
        ([("watermark", f"{UUID}:east"), ("watermark_position", "north")], (100, 5), (195, 50)),
        (
            [("watermark", UUID), ("wmp", '{"gravity":"center","left":0,"top":0}')],
            (5, 5),
            (100, 50),
        ),
        ([("watermark", UUID), ("watermark_size", "40"), ("wmp", "nw")], (35, 35), (45, 45)),
        ([("watermark", UUID), ("watermark_size", "::0.5"), ("wmp", "nw")], (95, 95), (105, 5)),
        (
            [("watermark_url", "aHR0cHM6Ly9leGFtcGxlLmNvbS9tLnBuZw"), ("wmp", "se")],
            (195, 95),
            (5, 5),
        ),
    ],
)
def test_image_watermarks_land_where_gravity_and_offsets_say(pairs, marked, clean):
    out = rgb(WHITE, *pairs, loader=red_mark)
    assert out.getpixel(marked) == (255, 0, 0)
    assert out.getpixel(clean) == (255, 255, 255)


def test_watermark_opacity_rotation_and_shadow():
    faint = rgb(WHITE, ("watermark", UUID), ("wmp", "center:0:0:0.5"), loader=red_mark)
    assert faint.getpixel((100, 50)) == (255, 127, 127)
    turned = rgb(WHITE, ("watermark", UUID), ("watermark_rotate", "45"), loader=red_mark)
    assert turned.getpixel((100, 37)) == (255, 0, 0)  # a diamond reaches higher than a square
    shaded = rgb(WHITE, ("watermark", UUID), ("watermark_shadow", "000000:1:6:6"), loader=red_mark)
    assert max(shaded.getpixel((114, 64))) < 100 and shaded.getpixel((100, 50)) == (255, 0, 0)


def test_text_watermarks_brighten_the_corner_they_are_placed_in():
    black = Image.new("RGB", (300, 120), (0, 0, 0))
    out = rgb(black, ("watermark_text", "Imgwire"), ("watermark_position", "southeast:-8:-8"))
    corner = out.crop((150, 60, 300, 120))
    assert ImageStat.Stat(corner).extrema[0][1] > 200
    assert ImageStat.Stat(out.crop((0, 0, 150, 60))).extrema[0][1] == 0


def test_text_watermark_object_form_sets_size_colour_and_opacity():
    black = Image.new("RGB", (300, 120), (0, 0, 0))
    spec = '{"text":"Hi\\nthere","size":40,"color":"00ff00","gravity":"northwest","opacity":1}'
    out = rgb(black, ("watermark_text", spec))
    region = out.crop((0, 0, 150, 100))
    assert ImageStat.Stat(region).extrema[1][1] > 200 and ImageStat.Stat(region).extrema[0][1] < 60


def test_an_image_watermark_without_a_loader_is_a_server_error():
    with pytest.raises(RenderError) as caught:
        rgb(WHITE, ("watermark", UUID))
    assert caught.value.status == 500


@pytest.mark.parametrize(
    "pairs",
    [
        [("watermark_text", "W" * 2048), ("watermark_size", "8192:8192:10")],
        [("watermark_text", '{"text":"' + "x" * 500 + '","size":8192}')],
        [
            ("watermark_text", "hostile"),
            ("watermark_shadow", "000000:100:8192:8192"),
            ("watermark_rotate", "33"),
            ("watermark_position", "southeast:-8192:8192:0.3:color-dodge"),
        ],
        [("watermark", UUID), ("watermark_size", "8192:8192:10")],
        [("watermark", UUID), ("wms", "8192"), ("wmr", "45:ff0000"), ("wmsh", "true")],
    ],
)
def test_hostile_watermarks_fail_cleanly_or_stay_within_limits(pairs):
    try:
        out = rgb(Image.new("RGB", (400, 300), (30, 30, 30)), *pairs, loader=red_mark)
    except RenderError as error:
        assert 400 <= error.status < 500 and error.message
    else:
        assert out.size == (400, 300)
