"""Delivery query parameters: one canonical transform per meaning, 400s for everything else."""

import base64
import hashlib
import json
import pickle
import random

import pytest

from images.transform import (
    ALIASES,
    GRAVITIES,
    GRAVITY_SHORTHANDS,
    PARAMETERS,
    PRESETS,
    WATERMARK_MODIFIERS,
    Color,
    Transform,
    TransformError,
    describe_parameters,
    parse_transform,
)

UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
SOURCE = ("watermark", UUID)


def b64(url: str, alphabet=base64.b64encode) -> str:
    return alphabet(url.encode()).decode()


def parse(*pairs, preset=None) -> Transform:
    return parse_transform(list(pairs), preset)


def canonical(*pairs, preset=None) -> str:
    return parse(*pairs, preset=preset).canonical()


def error(*pairs, preset=None) -> TransformError:
    with pytest.raises(TransformError) as caught:
        parse_transform(list(pairs), preset)
    return caught.value


def needs_source(name: str) -> list[tuple[str, str]]:
    return [SOURCE] if name in WATERMARK_MODIFIERS else []


DELIVERY_MD_NAMES = """
    width height min-width min-height resizing_type resizing_algorithm enlarge dpr zoom crop
    gravity extend extend_aspect_ratio padding rotate flip background background_alpha blur
    sharpen pixelate brightness lightness saturation hue adjust contrast colorize duotone
    monochrome negate normalize gradient format quality progressive chroma_subsampling dpi
    color_profile strip_metadata strip_color_profile keep_copyright watermark watermark_url
    watermark_text watermark_position watermark_size watermark_rotate watermark_shadow
""".split()  # noqa: SIM905

# canonical name -> (a valid value, its canonical spelling)
VALID = {
    "width": ("100", "100"),
    "height": ("0100", "100"),
    "min-width": ("320", "320"),
    "min-height": ("240", "240"),
    "resizing_type": ("fit", "inside"),
    "resizing_algorithm": ("Lanczos3", "lanczos3"),
    "enlarge": ("t", "true"),
    "dpr": ("2.0", "2"),
    "zoom": ("1.5:n", "1.5:north"),
    "crop": ("640:360:attention", "640:360:attention"),
    "gravity": ("sw", "southwest"),
    "extend": ("10:20", "10:20:0:0"),
    "extend_aspect_ratio": ("16:9", "16:9"),
    "padding": ("5", "5:5:5:5"),
    "rotate": ("-90", "270"),
    "flip": ("both", "both"),
    "background": ("#FFF", "ffffff"),
    "background_alpha": ("0.50", "0.5"),
    "blur": ("2.5", "2.5"),
    "sharpen": ("true", "true"),
    "pixelate": ("8", "8"),
    "brightness": ("1.2", "1.2"),
    "lightness": ("0.8", "0.8"),
    "saturation": ("10", "10"),
    "hue": ("-30", "-30"),
    "adjust": ("1.1:0.9:1", "1.1:0.9:1"),
    "contrast": ("1.5:128", "1.5:128"),
    "colorize": ("ff0000", "ff0000"),
    "duotone": ("000:fff", "000000:ffffff"),
    "monochrome": ("on", "true"),
    "negate": ("true", "true"),
    "normalize": ("1:99", "1:99"),
    "gradient": ("f00,00f:90", "ff0000,0000ff:90"),
    "format": ("jpg", "jpeg"),
    "quality": ("80", "80"),
    "progressive": ("auto", "auto"),
    "chroma_subsampling": ("4:2:2", "4:2:2"),
    "dpi": ("300", "300"),
    "color_profile": ("preserve", "keep"),
    "strip_metadata": ("1", "true"),
    "strip_color_profile": ("0", "false"),
    "keep_copyright": ("yes", "true"),
    "watermark": (UUID.upper(), UUID),
    "watermark_url": (b64("https://cdn.example.com/logo.png"), "https://cdn.example.com/logo.png"),
    "watermark_text": ("Hello", "Hello"),
    "watermark_position": ("se:-24:-24:0.85", "southeast:-24:-24:0.85"),
    "watermark_size": ("120", "120"),
    "watermark_rotate": ("45:000", "45:000000"),
    "watermark_shadow": ("000:2:3:4", "000000:2:3:4"),
}

ALL_NAMES = sorted(ALIASES.items())


def test_the_table_holds_exactly_the_49_canonical_transforms_of_delivery_md():
    assert len(DELIVERY_MD_NAMES) == 49
    assert list(PARAMETERS) == DELIVERY_MD_NAMES
    assert set(VALID) == set(PARAMETERS)


def test_describe_parameters_lists_every_transform_in_order_as_plain_json():
    described = describe_parameters()
    assert [d["name"] for d in described] == DELIVERY_MD_NAMES
    assert json.loads(json.dumps(described)) == described
    by_name = {d["name"]: d for d in described}
    assert by_name["width"]["aliases"] == ["w"]
    assert by_name["normalize"]["aliases"] == ["norm", "normalise"]
    assert "1 to 8192" in by_name["width"]["accepted"]
    assert "factor" in by_name["zoom"]["object_keys"]
    assert by_name["watermark_text"]["max_length"] >= 2048


@pytest.mark.parametrize(("name", "canonical_name"), ALL_NAMES)
def test_every_canonical_name_and_alias_is_accepted_with_a_valid_value(name, canonical_name):
    value, spelled = VALID[canonical_name]
    transform = parse(*needs_source(canonical_name), (name, value))
    assert canonical_name in transform.params
    assert f"{canonical_name}={spelled}" in transform.canonical().split("&")


# A name whose upper-case spelling is itself a name (an alias) has nothing to refuse.
@pytest.mark.parametrize("name", [n for n, _ in ALL_NAMES if n.upper() not in ALIASES])
def test_names_are_case_sensitive(name):
    assert error((name.upper(), "1")).parameter == name.upper()


# canonical name -> [(colon form, JSON object form)]
OBJECT_FORMS = {
    "zoom": [("2:ce:sm", '{"factor":2,"gravity":"attention"}'), ("3", '{"factor":3}')],
    "crop": [
        ("10:20:640:360:n", '{"x":10,"y":20,"width":640,"height":360,"gravity":"north"}'),
        ("0:0:64:36", '{"width":64,"height":36,"x":0,"y":0,"mode":"extract"}'),
        ("640:360", '{"width":640,"height":360}'),
    ],
    "extend": [
        (
            "10:20:30:40:255:0:0:0.5",
            '{"top":10,"right":20,"bottom":30,"left":40,'
            '"background":{"r":255,"g":0,"b":0,"alpha":0.5}}',
        ),
        ("8", '{"top":8}'),
    ],
    "extend_aspect_ratio": [
        ("16:9", '{"width":16,"height":9}'),
        ("1.5", '{"ratio":1.5}'),
        ("3:2", '{"aspectRatio":1.5}'),
    ],
    "padding": [
        ("1:2:3:4", '{"top":1,"right":2,"bottom":3,"left":4}'),
        ("7", '{"all":7}'),
        ("1:2", '{"x":2,"y":1}'),
        ("1:2:3", '{"top":1,"x":2,"bottom":3}'),
    ],
    "rotate": [("90:fff", '{"angle":90,"background":"#FFFFFF"}'), ("-90", '{"angle":270}')],
    "flip": [("true:false", '{"horizontal":true}'), ("vertical", '{"vertical":true}')],
    "sharpen": [("2", '{"sigma":2}'), ("true", "{}")],
    "adjust": [("1.1:0.9:2", '{"brightness":1.1,"saturation":0.9,"color":2}')],
    "contrast": [("1.5:128", '{"multiplier":1.5,"pivot":128}'), ("2", '{"multiplier":2}')],
    "duotone": [
        ("000000:ffffff", '{"shadowColor":"#000","highlightColor":{"r":255,"g":255,"b":255}}')
    ],
    "negate": [("alpha:false", '{"alpha":false}'), ("alpha:1", '{"alpha":true}')],
    "normalize": [("1:99", '{"lower":1,"upper":99}')],
    "gradient": [
        (
            "f00,00f:45:0.5:multiply",
            '{"colors":["#f00",{"r":0,"g":0,"b":255}],"angle":45,"opacity":0.5,"blend":"multiply"}',
        ),
        ("fff,000", '{"colors":["255:255:255","000"]}'),
    ],
    "watermark": [
        (f"{UUID}:se:-10:5", f'{{"imageId":"{UUID}","gravity":"southeast","x":-10,"y":5}}'),
        (UUID, f'{{"image_id":"{UUID}"}}'),
    ],
    "watermark_text": [("Hello: world & co", '{"text":"Hello: world & co"}')],
    "watermark_position": [
        (
            "se:-24:-24:0.85:multiply",
            '{"gravity":"southeast","offset":{"x":-24,"y":-24},"opacity":0.85,"blend":"multiply"}',
        ),
        ("north:0:5", '{"gravity":"n","x":0,"y":5}'),
    ],
    "watermark_size": [
        ("120:80:0.5", '{"width":120,"height":80,"scale":0.5}'),
        ("::2", '{"scale":2}'),
    ],
    "watermark_rotate": [("-45:0:0:0", '{"angle":315,"background":"000"}')],
    "watermark_shadow": [
        ("fff:2:3:4", '{"color":{"r":255,"g":255,"b":255},"blur":2,"x":3,"y":4}'),
        ("true", "{}"),
    ],
    "background": [("255:0:0:0.5", '{"r":255,"g":0,"b":0,"alpha":0.5}')],
    "colorize": [("0:128:255", '{"r":0,"g":128,"b":255}')],
    "monochrome": [("336699", '{"r":51,"g":102,"b":153,"alpha":1}')],
}


def test_every_parameter_with_an_object_form_has_equivalence_cases():
    with_object_form = {name for name, p in PARAMETERS.items() if p.object_keys}
    assert with_object_form <= set(OBJECT_FORMS)


@pytest.mark.parametrize(
    ("name", "colon", "as_json"),
    [(name, colon, as_json) for name, cases in OBJECT_FORMS.items() for colon, as_json in cases],
)
def test_colon_and_json_object_forms_produce_the_same_canonical_form(name, colon, as_json):
    extra = needs_source(name)
    from_colon = parse(*extra, (name, colon))
    from_json = parse(*extra, (name, as_json))
    assert from_colon.canonical() == from_json.canonical()
    assert from_colon.params[name] == from_json.params[name]
    assert from_colon.cache_key() == from_json.cache_key()


BAD_JSON = [
    ("zoom", '{"factor":2,"__proto__":{"factor":3}}', "unknown key"),
    ("zoom", '{"constructor":{"prototype":{}}}', "unknown key"),
    ("zoom", '{"factor":"2"}', "zoom factor must be a number from 1 to 10"),
    ("zoom", '{"factor":true}', "zoom factor"),
    ("zoom", '{"factor":[2]}', "zoom factor"),
    ("zoom", '{"factor":2,"factor":3}', "duplicate key"),
    ("zoom", '{"factor":NaN}', "not a number"),
    ("zoom", '{"factor":Infinity}', "not a number"),
    ("zoom", '{"factor":1e999999999}', "zoom factor"),
    ("zoom", '{"gravity":"north"}', "needs factor"),
    ("zoom", '{"factor":2} x', "not a valid JSON object"),
    ("zoom", "{factor:2}", "not a valid JSON object"),
    ("crop", '{"width":10.0,"height":10}', "crop width must be an integer"),
    ("crop", '{"width":10,"height":10,"mode":"resize"}', "crop mode"),
    ("background", '{"r":1,"g":2}', "background"),
    ("background", '{"r":1,"g":2,"b":3,"a":4}', "unknown key"),
    ("background", '{"r":1.5,"g":2,"b":3}', "background r"),
    ("watermark", f'{{"image_id":"{UUID}","imageId":"{UUID}"}}', "image_id twice"),
    ("sharpen", '{"m1":1,"flat":2}', "m1 twice"),
    ("gradient", '{"colors":["fff"]}', "2 to 16 colors"),
    ("gradient", '{"colors":"fff,000"}', "gradient colors"),
    ("extend_aspect_ratio", '{"ratio":2,"width":1,"height":2}', "needs ratio, or width and height"),
    ("watermark_text", '{"size":12}', "needs text"),
    ("watermark_text", '{"text":"a\\u0000b"}', "control character"),
    ("watermark_text", '{"text":"\\ud800"}', "control character"),
    ("watermark_position", '{"gravity":"n","x":1,"offset":{"x":2}}', "x twice"),
    ("watermark_position", '{"gravity":"n","offset":[1,2]}', "offset"),
]


@pytest.mark.parametrize(("name", "value", "fragment"), BAD_JSON)
def test_json_object_forms_reject_unknown_keys_wrong_types_and_malformed_json(
    name, value, fragment
):
    problem = error(*needs_source(name), (name, value))
    assert problem.parameter == name
    assert fragment in problem.message


@pytest.mark.parametrize(
    ("name", "aliases"), [(n, p.aliases) for n, p in PARAMETERS.items() if p.aliases]
)
def test_two_aliases_of_one_transform_are_rejected(name, aliases):
    value, _ = VALID[name]
    for first, second in [(name, aliases[0]), (aliases[-1], name), (aliases[0], aliases[-1])]:
        if first == second:
            continue
        problem = error(*needs_source(name), (first, value), (second, value))
        assert problem.parameter == name
        assert "only once" in problem.message


def test_the_same_name_twice_is_rejected_even_with_the_same_value():
    assert error(("width", "100"), ("width", "100")).parameter == "width"
    assert error(("width", "100"), ("w", "200")).parameter == "width"


def test_an_unknown_parameter_is_named_in_the_error():
    problem = error(("width", "100"), ("foo", "1"))
    assert problem.parameter == "foo"
    assert problem.message == "unknown parameter 'foo'"


OUT_OF_RANGE = [
    ("width", "0", "1 to 8192"),
    ("w", "8193", "1 to 8192"),
    ("height", "9000", "1 to 8192"),
    ("min-width", "0", "1 to 8192"),
    ("mh", "8193", "1 to 8192"),
    ("dpr", "0", "0.01 to 8"),
    ("dpr", "8.5", "0.01 to 8"),
    ("zoom", "0.5", "1 to 10"),
    ("z", "11:n", "1 to 10"),
    ("crop", "0:100", "1 to 8192"),
    ("crop", "-1:0:10:10", "from 0"),
    ("extend", "8193", "0 to 8192"),
    ("extend_aspect_ratio", "0.001", "0.01 to 8192"),
    ("exar", "0:9", "1 to 8192"),
    ("padding", "-1", "0 to 8192"),
    ("background_alpha", "1.5", "0 to 1"),
    ("blur", "0.1", "0.3 to 100"),
    ("bl", "101", "0.3 to 100"),
    ("sharpen", "-1", "greater than 0"),
    ("sharpen", "101", "at most 100"),
    ("pixelate", "1", "2 to 256"),
    ("pix", "257", "2 to 256"),
    ("brightness", "0", "0.01 to 10"),
    ("lightness", "11", "0.01 to 10"),
    ("saturation", "0.001", "0.01 to 10"),
    ("adjust", "11", "0.01 to 10"),
    ("adjust", "1:1:0", "0.01 to 10"),
    ("contrast", "1:256", "0 to 255"),
    ("contrast", "0:1", "0.01 to 10"),
    ("normalize", "0:101", "0 to 100"),
    ("normalize", "50:10", "0 to 100"),
    ("gradient", "f00,00f:361", "-360 to 360"),
    ("gradient", "f00,00f:0:2", "0 to 1"),
    ("quality", "0", "1 to 100"),
    ("q", "101", "1 to 100"),
    ("dpi", "0", "1 to 600"),
    ("dpi", "601", "1 to 600"),
    ("background", "256:0:0", "0 to 255"),
    ("bg", "0:0:0:2", "0 to 1"),
    ("colorize", "0:0:300", "0 to 255"),
    ("watermark", f"{UUID}:n:9000", "-8192 to 8192"),
    ("watermark_text", '{"text":"a","size":0}', "1 to 8192"),
    ("watermark_text", "x" * 2049, "1 to 2048"),
    ("watermark_position", "n:0:0:1.5", "0 to 1"),
    ("wmp", "n:-9000", "-8192 to 8192"),
    ("watermark_size", "0", "1 to 8192"),
    ("wms", "::11", "0.01 to 10"),
    ("watermark_shadow", "000:0.1", "0.3 to 100"),
]


@pytest.mark.parametrize(("name", "value", "accepted"), OUT_OF_RANGE)
def test_out_of_range_values_name_the_parameter_and_its_range(name, value, accepted):
    canonical_name = ALIASES[name]
    problem = error(*needs_source(canonical_name), (name, value))
    assert problem.parameter == canonical_name
    assert canonical_name in problem.message
    assert accepted in problem.message
    assert str(problem) == problem.message


UNRANGED = """
    resizing_type resizing_algorithm enlarge gravity rotate flip hue duotone monochrome negate
    format progressive chroma_subsampling color_profile strip_metadata strip_color_profile
    keep_copyright watermark_url watermark_rotate
""".split()  # noqa: SIM905


def test_every_ranged_parameter_has_an_out_of_range_case():
    covered = {ALIASES[name] for name, _, _ in OUT_OF_RANGE}
    assert covered | set(UNRANGED) == set(PARAMETERS)


def test_the_documented_width_message():
    assert error(("width", "9000")).message == "width must be an integer from 1 to 8192 (got 9000)"


WHITE_HALF = Color(255, 255, 255, 128)


@pytest.mark.parametrize(
    ("spelling", "color"),
    [
        ("fff", Color(255, 255, 255)),
        ("#FFF", Color(255, 255, 255)),
        ("ffffff", Color(255, 255, 255)),
        ("#FfFfFf", Color(255, 255, 255)),
        ("ffffffff", Color(255, 255, 255)),
        ("255:255:255", Color(255, 255, 255)),
        ("255:255:255:1", Color(255, 255, 255)),
        ('{"r":255,"g":255,"b":255}', Color(255, 255, 255)),
        ('{"r":255,"g":255,"b":255,"alpha":1.0}', Color(255, 255, 255)),
        ("ffffff80", WHITE_HALF),
        ("#FFFFFF80", WHITE_HALF),
        ("255:255:255:0.5", WHITE_HALF),
        ('{"r":255,"g":255,"b":255,"alpha":0.5}', WHITE_HALF),
        ("0:0:0:0", Color(0, 0, 0, 0)),
        ("00000000", Color(0, 0, 0, 0)),
        ("0a1", Color(0, 0xAA, 0x11)),
    ],
)
def test_colors_in_every_syntax_normalise_to_one_rgba_tuple(spelling, color):
    for name in ("background", "bg", "colorize", "monochrome"):
        transform = parse((name, spelling))
        assert transform.params[ALIASES[name]] == color
        assert transform.params[ALIASES[name]] == tuple(color)
    expected = color.hex()
    assert canonical(("bg", spelling)) == f"background={expected}"


@pytest.mark.parametrize(
    "spelling",
    ["ff", "ffff", "fffff", "#", "##fff", "ggg", "rgb(1,2,3)", "1:2", "1:2:3:4:5", "1:2:x", " fff"],
)
def test_malformed_colors_are_rejected_with_the_accepted_syntaxes(spelling):
    problem = error(("background", spelling))
    assert problem.parameter == "background"
    assert "background" in problem.message


@pytest.mark.parametrize(("short", "full"), sorted(GRAVITY_SHORTHANDS.items()))
def test_gravity_shorthands_mean_their_full_names(short, full):
    assert parse(("g", short)).params["gravity"] == full
    assert canonical(("gravity", short.upper())) == canonical(("gravity", full))
    assert parse(("crop", f"10:10:{short}")).params["crop"].gravity == full
    position = parse(SOURCE, ("wmp", f"{short}:1:2")).params["watermark_position"]
    assert (position.gravity, position.x, position.y) == (full, 1, 2)


@pytest.mark.parametrize("gravity", GRAVITIES)
def test_full_gravity_names_are_their_own_canonical_form(gravity):
    assert canonical(("g", gravity)) == f"gravity={gravity}"


@pytest.mark.parametrize("gravity", ["centre", "top", "smart", "sm", "ce:sm:x", "north-east", ""])
def test_unknown_gravities_are_rejected(gravity):
    assert error(("gravity", gravity)).parameter == "gravity"


@pytest.mark.parametrize(
    ("word", "value"),
    [
        *((w, True) for w in ["true", "t", "1", "yes", "on", "TRUE", "True", "Yes", "ON"]),
        *((w, False) for w in ["false", "f", "0", "no", "off", "FALSE", "F", "No", "Off"]),
    ],
)
def test_booleans_accept_every_documented_spelling(word, value):
    for name in ("enlarge", "strip_metadata", "strip_color_profile", "keep_copyright"):
        assert parse((name, word)).params[name] is value


@pytest.mark.parametrize(
    "word", ["", "2", "-1", "y", "n", "truee", "null", "nil", " true", "\u0131", "o\u0274"]
)
def test_booleans_reject_anything_else(word):
    assert error(("enlarge", word)).parameter == "enlarge"


def test_the_no_op_spellings_are_dropped_from_the_canonical_form():
    for pairs in [
        [("blur", "false")],
        [("blur", "0")],
        [("flip", "false:false")],
        [("flip", "{}")],
        [("monochrome", "false")],
        [("sharpen", "off")],
        [("negate", "f")],
        [("normalize", "no")],
        [("format", "auto")],
        [("f", "AUTO")],
    ]:
        transform = parse_transform(pairs)
        assert transform.params == {}
        assert transform.canonical() == ""
        assert transform.is_identity


def test_enumerations_are_case_insensitive_but_ascii_only():
    assert canonical(("color_profile", "KEEP")) == "color_profile=keep"
    assert error(("color_profile", "\u212aeep")).parameter == "color_profile"  # Kelvin sign
    assert error(("resizing_type", "\uff43over")).parameter == "resizing_type"


def test_format_jpg_and_jpeg_are_one_output_and_auto_never_appears():
    assert canonical(("format", "jpg")) == canonical(("f", "JPEG")) == "format=jpeg"
    assert canonical(("ext", "webp"), ("w", "10")) == "format=webp&width=10"
    assert "format" not in parse(("format", "auto"), ("w", "10")).params
    assert "bmp" in error(("format", "bmp")).message
    assert "auto, jpg, jpeg" in error(("extension", "bmp")).message


EQUIVALENT = [
    ([("w", "100")], [("width", "100")]),
    ([("format", "jpg")], [("f", "jpeg")], [("ext", "JPEG")], [("extension", "Jpg")]),
    (
        [("bg", "fff")],
        [("background", "#FFFFFF")],
        [("background", "255:255:255")],
        [("bg", '{"r":255,"g":255,"b":255}')],
    ),
    ([("g", "n")], [("gravity", "north")], [("gravity", "NO")]),
    ([("w", "10"), ("blur", "false")], [("w", "10")]),
    ([("w", "10"), ("flip", "false:false")], [("w", "10")]),
    ([("w", "10"), ("monochrome", "false")], [("w", "10")]),
    ([("format", "auto")], []),
    ([("dpr", "2")], [("dpr", "2.0")], [("dpr", "02.00")]),
    ([("q", "80"), ("w", "10")], [("w", "10"), ("quality", "80")]),
    (
        [("resizing_type", "fit")],
        [("resizing_type", "inside")],
        [("resizing_type", "fill-down")],
        [("resizing_type", "auto")],
    ),
    ([("resizing_type", "force")], [("resizing_type", "fill")]),
    ([("rotate", "-90")], [("rot", "270")], [("rotate", "630")], [("rotate", '{"angle":-450}')]),
    (
        [("exar", "16:9")],
        [("extend_ar", "32:18")],
        [("extend_aspect_ratio", '{"width":16,"height":9}')],
    ),
    ([("pd", "5")], [("padding", "5:5")], [("padding", "5:5:5")], [("padding", "5:5:5:5")]),
    ([("cp", "preserve")], [("icc", "keep")], [("color_profile", "KEEP")]),
    ([("crop", "640:360:ce:sm")], [("c", "640:360:attention")]),
    ([("hue", "-0")], [("hue", "0")], [("hu", "0.000")]),
    ([("sm", "yes")], [("strip_metadata", "1")], [("sm", "TRUE")], [("sm", "on")]),
    ([("blur", "true")], [("bl", "t")]),
    ([("wm", UUID.upper())], [("watermark", UUID.replace("-", ""))]),
    (
        [("wmu", b64("https://a.example/w.png"))],
        [("wmu", b64("https://a.example/w.png", base64.urlsafe_b64encode).rstrip("="))],
        [("watermark_url", b64("HTTPS://A.EXAMPLE:443/w.png#frag"))],
    ),
    ([("wmt", "Hi"), ("wms", "50")], [("watermark_text", '{"text":"Hi"}'), ("wms", "50:")]),
]


@pytest.mark.parametrize("spellings", EQUIVALENT)
def test_equivalent_urls_share_one_canonical_form_and_cache_key(spellings):
    transforms = [parse_transform(pairs) for pairs in spellings]
    assert len({t.canonical() for t in transforms}) == 1
    assert len({t.cache_key() for t in transforms}) == 1


DIFFERENT = [
    ([("w", "100")], [("w", "101")]),
    ([("format", "jpeg")], [("format", "png")]),
    ([("format", "png")], []),
    ([("bg", "ffffff")], [("bg", "ffffff00")]),
    ([("crop", "0:0:100:100")], [("crop", "100:100")]),
    ([("enlarge", "false")], []),
    ([("quality", "auto")], []),
    ([("rotate", "90")], [("rotate", "-90")]),
    ([("wmt", "a")], [("wmt", "A")]),
    ([("wmt", "a&width=5")], [("wmt", "a"), ("width", "5")]),
    ([("wmt", "a:b")], [("wmt", '{"text":"a","font":"b"}')]),
    ([("exar", "16:9")], [("exar", "1.77")]),
    ([("g", "n")], [("g", "ne")]),
    ([("flip", "horizontal")], [("flip", "vertical")]),
    ([("sharpen", "true")], [("sharpen", "1")]),
    ([("blur", "true")], [("blur", "1")]),
    ([("negate", "true")], [("negate", "alpha:true")]),
    ([("extend", "10")], [("padding", "10")]),
    ([("watermark", UUID)], [("watermark", UUID.replace("0f", "1f", 1))]),
]


@pytest.mark.parametrize(("first", "second"), DIFFERENT)
def test_urls_that_mean_different_things_have_different_cache_keys(first, second):
    a, b = parse_transform(first), parse_transform(second)
    assert a.canonical() != b.canonical()
    assert a.cache_key() != b.cache_key()


def test_the_cache_key_is_the_sha256_of_the_canonical_form_and_stable():
    transform = parse(("w", "100"), ("f", "jpg"))
    assert transform.canonical() == "format=jpeg&width=100"
    assert transform.cache_key() == hashlib.sha256(b"format=jpeg&width=100").hexdigest()
    assert parse(("width", "100"), ("format", "jpeg")).cache_key() == transform.cache_key()


def test_nothing_requested_is_the_identity():
    assert parse().is_identity
    assert parse().canonical() == ""
    assert not parse(("w", "1")).is_identity
    assert not parse(preset="small").is_identity


def test_a_transform_is_immutable_and_hashable():
    transform = parse(("w", "100"))
    with pytest.raises(TypeError):
        transform.params["width"] = 5  # type: ignore[index]
    assert hash(transform) == hash(parse(("width", "100")))
    assert transform == parse(("width", "100"))
    assert {transform, parse(("width", "100"))} == {transform}


# --- presets --------------------------------------------------------------------------------


def test_presets_are_the_four_of_delivery_md_and_never_enlarge():
    assert set(PRESETS) == {"thumbnail", "small", "medium", "large"}
    assert all(preset["enlarge"] is False for preset in PRESETS.values())


def test_thumbnail_is_a_150_square_cover_with_attention_gravity():
    transform = parse(preset="thumbnail")
    assert dict(transform.params) == {
        "width": 150,
        "height": 150,
        "resizing_type": "cover",
        "gravity": "attention",
        "enlarge": False,
    }
    assert transform.preset == "thumbnail"


@pytest.mark.parametrize(("preset", "width"), [("small", 320), ("medium", 640), ("large", 1024)])
def test_size_presets_fit_inside_their_width_and_equal_the_explicit_query(preset, width):
    from_preset = parse(preset=preset)
    explicit = parse(("w", str(width)), ("resizing_type", "fit"), ("el", "false"))
    assert from_preset.canonical() == explicit.canonical()
    assert from_preset.cache_key() == explicit.cache_key()
    assert from_preset.canonical() != canonical(("width", str(width)))


def test_query_parameters_refine_and_override_a_preset():
    assert parse(("g", "n"), preset="thumbnail").params["gravity"] == "north"
    assert parse(("enlarge", "true"), preset="small").params["enlarge"] is True
    refined = parse(("h", "200"), ("f", "webp"), preset="small")
    assert (refined.params["width"], refined.params["height"]) == (320, 200)
    assert refined.params["format"] == "webp"
    assert parse(("w", "500"), preset="thumbnail").params["width"] == 500


@pytest.mark.parametrize("preset", ["", "bogus", "Small", "thumbnail ", "@@small"])
def test_an_unknown_preset_is_rejected(preset):
    problem = error(preset=preset)
    assert problem.parameter == "preset"
    assert "thumbnail" in problem.message


# --- watermarks -----------------------------------------------------------------------------


@pytest.mark.parametrize("modifier", WATERMARK_MODIFIERS)
def test_watermark_modifiers_without_a_source_are_rejected(modifier):
    value, _ = VALID[modifier]
    problem = error((modifier, value))
    assert problem.parameter == modifier
    assert "watermark source" in problem.message
    assert parse(SOURCE, (modifier, value)).params[modifier]


def test_a_no_op_modifier_still_needs_a_source():
    assert error(("watermark_shadow", "false")).parameter == "watermark_shadow"


@pytest.mark.parametrize(
    "sources",
    [
        [SOURCE, ("wmt", "Hi")],
        [("wmu", VALID["watermark_url"][0]), ("wm", UUID)],
        [("watermark_text", "a"), ("watermark_url", VALID["watermark_url"][0])],
    ],
)
def test_more_than_one_watermark_source_is_rejected(sources):
    problem = error(*sources)
    assert problem.parameter in ("watermark", "watermark_url", "watermark_text")
    assert "only one watermark source" in problem.message


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/w.png",
        "ftp://example.com/w.png",
        "javascript:alert(1)",
        "https://",
        "https:///path",
        "https://user:pw@example.com/w.png",
        "https://exa mple.com/w.png",
        "https://example.com:99999/w.png",
        "//example.com/w.png",
        "https://example.com/" + "a" * 2100,
    ],
)
def test_watermark_url_must_decode_to_an_https_url(url):
    assert error(("wmu", b64(url))).parameter == "watermark_url"


@pytest.mark.parametrize(
    "value", ["!!!", "a", "aGk=====", base64.b64encode(b"\xff\xfe").decode(), "", "%00"]
)
def test_watermark_url_must_be_base64_of_text(value):
    assert error(("watermark_url", value)).parameter == "watermark_url"


def test_watermark_url_accepts_standard_and_url_safe_base64_with_or_without_padding():
    url = "https://cdn.example.com/w.png?v=>?~"  # base64 with both "+" and "/"
    standard = b64(url)
    url_safe = b64(url, base64.urlsafe_b64encode)
    assert standard != url_safe
    spellings = [
        standard,
        standard.rstrip("="),
        url_safe,
        url_safe.rstrip("="),
        standard.replace("+", " "),
    ]
    assert len({parse(("wmu", s)).params["watermark_url"] for s in spellings}) == 1
    assert parse(("wmu", standard)).params["watermark_url"] == url


@pytest.mark.parametrize(
    "image_id", ["abc", f"{UUID}/x", "../" + UUID, f"urn:uuid:{UUID}", f"{{{UUID}}}", UUID[:-1]]
)
def test_watermark_image_ids_must_be_uuids(image_id):
    assert error(("watermark", image_id)).parameter == "watermark"


def test_watermark_text_keeps_colons_and_percent_encodes_in_the_canonical_form():
    transform = parse(("wmt", "Hello: world & co"))
    assert transform.params["watermark_text"].text == "Hello: world & co"
    assert transform.canonical() == "watermark_text=Hello%3A%20world%20%26%20co"


# --- hostile input --------------------------------------------------------------------------

HOSTILE = [
    "",
    "9" * 300,
    "9" * 200,
    "\x00",
    "%00",
    "1\x00",
    "\u0661\u0662\u0663",  # Arabic-Indic 123
    "\uff11\uff12\uff13",  # full-width 123
    "\U0001d7d9\U0001d7da",  # mathematical digits
    "\u00b9\u00b2",  # superscripts
    "\u00bd",
    "1e309",
    "-1e309",
    "1e-309",
    "-0",
    "0x10",
    "1_000",
    "nan",
    "NaN",
    "inf",
    "-Infinity",
    "+5",
    " 5",
    "5 ",
    "5\n",
    "\ud800",
    "\udcff",
    "\u202e",
    "{",
    "}",
    "{}",
    "[]",
    "null",
    '{"__proto__":{"r":1}}',
    '{"__proto__":null}',
    '{"constructor":{"prototype":{"x":1}}}',
    '{"a":' * 200 + "1" + "}" * 200,
    '{"text":' + "[" * 1500 + "]" * 1500 + "}",
    '{"factor":1' + "0" * 1000 + "}",
    '{"factor":1e999999999}',
    '{"width":-0,"height":-0}',
    ":" * 300,
    ":::::::",
    ",,,,",
    "ce:sm:ce:sm",
    "a" * 5000,
    "\ufeff100",
]


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_values_give_a_transform_error_or_a_transform_never_another_exception(value):
    for name in PARAMETERS:
        try:
            transform = parse(*needs_source(name), (name, value))
        except TransformError as problem:
            assert problem.parameter == name
            assert len(problem.message) < 600
            problem.message.encode("utf-8")
        else:
            transform.canonical().encode("utf-8")
            transform.cache_key()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        *(
            ("width", v)
            for v in ["-0", "\u0661\u0662\u0663", "\uff11\uff12\uff13", "1e309", "\x00", "%00"]
        ),
        *(("width", v) for v in ["nan", "inf", "0x10", "1_000", "+5", " 5", "5\n", "\ud800"]),
        *(("dpr", v) for v in ["1e309", "-1e309", "nan", "Infinity", "\u0661", "1e-309"]),
        *(("hue", v) for v in ["1e309", "nan", "inf", "\u0661\u0662\u0663", ""]),
        ("zoom", '{"factor":' + "[" * 490 + "]" * 490 + "}"),
        ("watermark_text", '{"text":' + "[" * 1500 + "]" * 1500 + "}"),
        ("watermark_text", '{"text":' + '{"a":' * 800 + "1" + "}" * 801),
        ("watermark_text", "a" * 2049),
        ("watermark_text", "line\x00"),
        ("background", '{"__proto__":{"r":1},"r":1,"g":2,"b":3}'),
        ("crop", '{"__proto__":{},"width":1,"height":1}'),
        ("quality", "9" * 5000),
    ],
)
def test_hostile_values_for_numbers_and_json_are_rejected(name, value):
    assert error(*needs_source(name), (name, value)).parameter == name


def test_hostile_names_are_rejected_without_echoing_them_in_full():
    for name in ["w\x00", "\ud800", "a" * 10000, "", " width", "width ", "WIDTH"]:
        problem = error((name, "1"))
        assert problem.message.startswith("unknown parameter ")
        assert len(problem.message) < 200
        problem.message.encode("utf-8")


def test_transform_errors_are_value_errors_and_survive_pickling():
    problem = error(("w", "0"))
    assert isinstance(problem, ValueError)
    copy = pickle.loads(pickle.dumps(problem))
    assert (copy.parameter, copy.message) == (problem.parameter, problem.message)


FUZZ_ALPHABET = b"0123456789:.,-+#{}[]\"'abcdefnrtuxyz ABCDEF_%\\\x00\xff\xc3\xa9/=&@\t"


def random_value(rng: random.Random) -> str:
    length = rng.choice([0, 1, 2, 3, 4, 6, 8, 12, 20, 40])
    if rng.random() < 0.5:
        data = bytes(rng.choice(FUZZ_ALPHABET) for _ in range(length))
    else:
        data = rng.randbytes(length)
    if rng.random() < 0.5:
        return data.decode("latin-1")
    return data.decode("utf-8", "surrogateescape")


def mutate(rng: random.Random, value: str) -> str:
    chars = list(value)
    for _ in range(rng.randint(1, 3)):
        position = rng.randint(0, len(chars))
        action = rng.random()
        if action < 0.4 and chars:
            chars[min(position, len(chars) - 1)] = chr(rng.choice(FUZZ_ALPHABET))
        elif action < 0.7:
            chars.insert(position, chr(rng.choice(FUZZ_ALPHABET)))
        elif chars:
            del chars[min(position, len(chars) - 1)]
    return "".join(chars)


def test_fuzzing_every_parameter_name_gives_only_transforms_or_transform_errors():
    rng = random.Random(0)
    names = sorted(ALIASES)
    outcomes = {"ok": 0, "rejected": 0}
    for _ in range(60):
        for name in names:
            canonical_name = ALIASES[name]
            if rng.random() < 0.5:
                value = random_value(rng)
            else:
                value = mutate(rng, VALID[canonical_name][0])
            pairs = [*needs_source(canonical_name), (name, value)]
            if rng.random() < 0.2:
                other = rng.choice(names)
                pairs.append((other, random_value(rng)))
            try:
                transform = parse_transform(pairs, rng.choice([None, None, "thumbnail"]))
            except TransformError as problem:
                assert isinstance(problem.parameter, str) and problem.message
                outcomes["rejected"] += 1
            else:
                transform.canonical().encode("utf-8")
                assert len(transform.cache_key()) == 64
                outcomes["ok"] += 1
    assert outcomes["ok"] > 100 and outcomes["rejected"] > 100
