"""The delivery transform parameters (delivery.md): the table, the parser, the canonical form.

``parse_transform(query, preset)`` turns the decoded query pairs of a CDN URL into one
``Transform`` whose ``canonical()`` string (and its sha256 ``cache_key()``) is equal for any
two URLs that mean the same thing. Decisions where delivery.md leaves room:

- **Names** are exact and case-sensitive (``W=100`` is an unknown parameter); values of
  enumerations are case-insensitive. An empty value (``?enlarge``) is malformed, not true.
- **format**: ``auto`` and an absent ``format`` are the same request, so neither ``params``
  nor ``canonical()`` ever contains ``format=auto``; ``jpg`` is stored as ``jpeg``.
  ``quality=auto``, ``progressive=auto`` and ``chroma_subsampling=auto`` are kept as given
  (delivery.md does not say that an absent value means ``auto``).
- **No-ops are dropped**: ``blur``/``sharpen``/``monochrome``/``negate``/``normalize``/
  ``watermark_shadow`` set to false (and ``blur=0``), ``flip=false:false``. A dropped
  watermark modifier still needs a watermark source (the rule is about the query).
  Nothing else is assumed to be a default: ``enlarge=false`` is kept.
- **Presets** are expanded into ``params`` as defaults that explicit query parameters
  override, and ``canonical()`` describes only that merged result (``Transform.preset``
  keeps the name for logs). ``@small`` is ``width=320&resizing_type=inside&enlarge=false``,
  so it shares a cache entry with exactly that query, and ``@thumbnail?g=north`` with
  ``width=150&height=150&resizing_type=cover&gravity=north&enlarge=false``. ``enlarge=false``
  is written into every preset ("presets never enlarge unless enlarge=true") so the
  renderer does not depend on its own default.
- **Colors** are ``Color(r, g, b, a)`` tuples of ints 0-255 (alpha 0-1 is scaled and
  rounded half up), spelled as lowercase hex in the canonical form.
- **Angles** of ``rotate``/``watermark_rotate`` are normalised into [0, 360).
- **extend** edges are positional, a missing edge is 0 (not the CSS shorthand);
  **padding** uses the CSS shorthand (1, 2, 3 or 4 values) as the table says. Both
  canonicalise to ``top:right:bottom:left``.
- **extend_aspect_ratio** is an exact fraction: ``16:9``, ``32:18`` and ``{"width":16,
  "height":9}`` are equal, and so are ``1.5``, ``3:2`` and ``{"ratio":1.5}``.
- **adjust** ``color`` is a number 0.01-10 like brightness and saturation ("each 0.01-10").
- **Colors inside colon lists**: a trailing color (``rotate``, ``extend``, ``*_rotate``) may
  be ``r:g:b[:alpha]``; ``duotone`` takes two hex colors (or 3+3 / 4+4 channel fields);
  ``gradient`` and ``watermark_shadow`` take hex colors in the colon form - use the JSON
  form for channel colors there. ``watermark_text`` is the whole value (colons included)
  unless it starts with ``{``, which selects the JSON form.
- **watermark_url** is decoded (standard or URL-safe base64, padding optional, a space
  read as ``+``) and must be an ``https`` URL with a host and no credentials; the
  canonical form is the URL (scheme and host lowercased, ``:443`` and fragment dropped).
- **watermark** image ids must be UUIDs (so never contain ``:`` or ``/``) and are stored
  lowercase with hyphens.
- Value length caps: 256 characters, 1024 for parameters with a JSON object form, 4096
  for ``watermark_text`` and ``watermark_url``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from .values import (
    BLEND,
    COLOR,
    GRAVITY,
    Adjust,
    Bool,
    Choice,
    Color,
    Contrast,
    Crop,
    Duotone,
    Extend,
    Flip,
    Gradient,
    ImageId,
    Int,
    Kind,
    Negate,
    Normalize,
    Num,
    Padding,
    Rotate,
    Sharpen,
    Text,
    TransformError,
    Watermark,
    WatermarkPosition,
    WatermarkShadow,
    WatermarkSize,
    WatermarkText,
    Zoom,
    format_field,
    json_got,
    load_object,
    malformed,
    read_bool,
    read_colon,
    read_json,
    read_object,
    split_fields,
)

NOOP: Any = object()  # a value that requests nothing (``blur=false``); dropped from params

DIM = Int(1, 8192)
EDGE = Int(0, 8192)
OFFSET = Int(-8192, 8192)
POSITION = Int(0, 2**31 - 1)
UNIT = Num("0", "1")
FACTOR = Num("0.01", "10")
SIGMA = Num("0.3", "100")
ANGLE = Num()
BOOL = Bool()

# delivery.md order: the order of PARAMETERS and describe_parameters()
ORDER = tuple(
    """
    width height min-width min-height resizing_type resizing_algorithm enlarge dpr zoom crop
    gravity extend extend_aspect_ratio padding rotate flip background background_alpha blur
    sharpen pixelate brightness lightness saturation hue adjust contrast colorize duotone
    monochrome negate normalize gradient format quality progressive chroma_subsampling dpi
    color_profile strip_metadata strip_color_profile keep_copyright watermark watermark_url
    watermark_text watermark_position watermark_size watermark_rotate watermark_shadow
    """.split()  # noqa: SIM905 - one word per parameter reads better than 49 lines
)
WATERMARK_SOURCES = ("watermark", "watermark_url", "watermark_text")
WATERMARK_MODIFIERS = (
    "watermark_position",
    "watermark_size",
    "watermark_rotate",
    "watermark_shadow",
)
Parser = Callable[[str, str], Any]


@dataclass(frozen=True)
class Parameter:
    """One canonical transform: its URL names, what it accepts, and how to read it."""

    name: str
    aliases: tuple[str, ...]
    kind: str
    syntax: str
    accepted: str
    object_keys: tuple[str, ...]
    max_length: int
    parse: Parser = field(repr=False, compare=False)

    def read(self, raw: object) -> Any:
        """The normalised value of ``raw``, or ``NOOP``; TransformError when malformed."""
        name = self.name
        if not isinstance(raw, str):
            raise TransformError(name, f"{name} must be text (got {type(raw).__name__})")
        if len(raw) > self.max_length:
            raise TransformError(
                name, f"{name} is too long (at most {self.max_length} characters, got {len(raw)})"
            )
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError:
            raise TransformError(name, f"{name} is not valid UTF-8 text") from None
        if name != "watermark_text" and not raw.isprintable():
            raise TransformError(name, f"{name} must not contain control or invisible characters")
        return self.parse(name, raw)


_REGISTRY: dict[str, Parameter] = {}


def parameter(
    name: str,
    aliases: str,
    syntax: str,
    accepted: str,
    *,
    kind: str = "object",
    keys: str = "",
    max_length: int = 0,
) -> Callable[[Parser], Parser]:
    """Register the decorated parser for ``name``; ``aliases``/``keys`` are space-separated."""

    def register(parse: Parser) -> Parser:
        assert name not in _REGISTRY, name
        length = max_length or (1024 if keys else 256)
        _REGISTRY[name] = Parameter(
            name, tuple(aliases.split()), kind, syntax, accepted, tuple(keys.split()), length, parse
        )
        return parse

    return register


def scalar(name: str, aliases: str, kind: Kind, syntax: str, accepted: str = "") -> None:
    """Register a one-field parameter read entirely by ``kind``."""

    def parse(param: str, raw: str) -> Any:
        return kind.text(param, param, raw)

    parameter(name, aliases, syntax, accepted or kind.description, kind=syntax)(parse)


def _spec(*pairs: tuple[str, Kind]) -> dict[str, tuple[str, Kind]]:
    return {key: (key, kind) for key, kind in pairs}


def _num_ok(raw: str) -> bool:
    body = raw[1:] if raw.startswith("-") else raw
    return body.isascii() and body.replace(".", "", 1).isdigit()


# --- geometry ------------------------------------------------------------------------------

scalar("width", "w", DIM, "int")
scalar("height", "h", DIM, "int")
scalar("min-width", "mw min_width", DIM, "int")
scalar("min-height", "mh min_height", DIM, "int")
scalar(
    "resizing_type",
    "",
    Choice.of(
        "cover",
        "contain",
        "fill",
        "inside",
        "outside",
        fit="inside",
        auto="inside",
        force="fill",
        **{"fill-down": "inside"},
    ),
    "enum",
    "cover, contain, fill, inside, outside (legacy fit, fill-down, auto = inside; force = fill)",
)
scalar(
    "resizing_algorithm",
    "ra",
    Choice.of("nearest", "cubic", "mitchell", "lanczos2", "lanczos3"),
    "enum",
)
scalar("enlarge", "el", BOOL, "bool")
scalar("dpr", "", Num("0.01", "8"), "number")
scalar("gravity", "g", GRAVITY, "gravity")


@parameter("zoom", "z", "factor or factor:gravity", "factor 1 to 10", keys="factor gravity")
def _zoom(param: str, raw: str) -> Zoom:
    layout = [("factor", Num("1", "10")), ("gravity", GRAVITY)]
    if raw.startswith("{"):
        return Zoom(**read_object(param, raw, _spec(*layout), ["factor"]))
    expected = "factor or factor:gravity with factor 1 to 10, or {factor, gravity?}"
    return Zoom(**read_colon(param, raw, split_fields(raw), layout, 1, expected))


@parameter(
    "crop",
    "c",
    "width:height[:gravity] or x:y:width:height[:gravity]",
    "width, height 1 to 8192; x, y from 0",
    keys="width height x y gravity mode",
)
def _crop(param: str, raw: str) -> Crop:
    size = [("width", DIM), ("height", DIM)]
    if raw.startswith("{"):
        spec = _spec(*size, ("x", POSITION), ("y", POSITION), ("gravity", GRAVITY))
        spec["mode"] = ("mode", Choice.of("extract"))  # the Node SDK's marker for x/y
        values = read_object(param, raw, spec, ["width", "height"])
        values.pop("mode", None)
        if "x" in values or "y" in values:
            values.setdefault("x", 0)
            values.setdefault("y", 0)
        return Crop(**values)
    parts = split_fields(raw)
    layout = [*(size if len(parts) <= 3 else [("x", POSITION), ("y", POSITION), *size])]
    layout.append(("gravity", GRAVITY))
    expected = (
        "width:height[:gravity] or x:y:width:height[:gravity] with width and height 1 to "
        "8192 and x, y from 0, or {width, height, x?, y?, gravity?}"
    )
    return Crop(**read_colon(param, raw, parts, layout, len(layout) - 1, expected))


_EDGES = ("top", "right", "bottom", "left")


@parameter(
    "extend",
    "ex",
    "top[:right[:bottom[:left[:background]]]]",
    "edges 0 to 8192 (a missing edge is 0); background a color",
    keys="top right bottom left background",
)
def _extend(param: str, raw: str) -> Extend:
    layout = [*((edge, EDGE) for edge in _EDGES), ("background", COLOR)]
    if raw.startswith("{"):
        return Extend(**read_object(param, raw, _spec(*layout)))
    expected = "top[:right[:bottom[:left[:background]]]] with edges 0 to 8192"
    return Extend(**read_colon(param, raw, raw.split(":"), layout, 1, expected, rest=True))


@parameter(
    "extend_aspect_ratio",
    "exar extend_ar",
    "ratio, or width:height",
    "ratio 0.01 to 8192; width, height 1 to 8192",
    keys="ratio aspectRatio width height",
)
def _aspect_ratio(param: str, raw: str) -> Fraction:
    ratio = Num("0.01", "8192", exact=True)
    if raw.startswith("{"):
        spec = {"ratio": ("ratio", ratio), "aspectRatio": ("ratio", ratio)}
        values = read_object(param, raw, {**spec, **_spec(("width", DIM), ("height", DIM))})
        if set(values) == {"ratio"}:
            return values["ratio"]
        if set(values) == {"width", "height"}:
            return Fraction(values["width"], values["height"])
        raise TransformError(param, f"{param} JSON object needs ratio, or width and height")
    if ":" in raw:
        expected = "a ratio from 0.01 to 8192, or width:height with each 1 to 8192"
        layout = [("width", DIM), ("height", DIM)]
        values = read_colon(param, raw, raw.split(":"), layout, 2, expected)
        return Fraction(values["width"], values["height"])
    return ratio.text(param, param, raw)


@parameter(
    "padding",
    "pd",
    "all, x:y, top:x:bottom or top:right:bottom:left",
    "each 0 to 8192",
    keys="all x y top right bottom left",
)
def _padding(param: str, raw: str) -> Padding:
    if raw.startswith("{"):
        values = read_object(param, raw, _spec(*((k, EDGE) for k in ("all", "x", "y", *_EDGES))))
        base = values.get("all", 0)
        x, y = values.get("x", base), values.get("y", base)
        return Padding(
            values.get("top", y),
            values.get("right", x),
            values.get("bottom", y),
            values.get("left", x),
        )
    parts = raw.split(":")
    layout = [(f"edge {i + 1}", EDGE) for i in range(4)]
    expected = "all, x:y, top:x:bottom or top:right:bottom:left with each 0 to 8192"
    edges = list(read_colon(param, raw, parts, layout, len(parts), expected).values())
    if len(edges) == 1:  # the CSS shorthand
        edges *= 4
    elif len(edges) == 2:
        edges *= 2
    elif len(edges) == 3:
        edges.append(edges[1])
    return Padding(*edges)


def _turn(angle: float) -> float:
    turned = math.fmod(angle, 360.0)
    if turned < 0:
        turned += 360.0
    return 0.0 if turned >= 360.0 else turned + 0.0


@parameter(
    "watermark_rotate",
    "wmr wm_rot",
    "angle or angle:background",
    "any angle in degrees (normalised to 0 to 360); background a color",
    keys="angle background",
)
@parameter(
    "rotate",
    "rot",
    "angle or angle:background",
    "any angle in degrees (normalised to 0 to 360); background a color",
    keys="angle background",
)
def _rotate(param: str, raw: str) -> Rotate:
    layout = [("angle", ANGLE), ("background", COLOR)]
    if raw.startswith("{"):
        values = read_object(param, raw, _spec(*layout), ["angle"])
    else:
        expected = "angle or angle:background (a number and a color)"
        values = read_colon(param, raw, raw.split(":"), layout, 1, expected, rest=True)
    values["angle"] = _turn(values["angle"])
    return Rotate(**values)


_FLIPS = {"horizontal": (True, False), "vertical": (False, True), "both": (True, True)}


@parameter(
    "flip",
    "fl",
    "vertical, horizontal, both, or horizontal:vertical booleans",
    "false:false is a no-op",
    keys="horizontal vertical",
)
def _flip(param: str, raw: str) -> Any:
    layout = [("horizontal", BOOL), ("vertical", BOOL)]
    if raw.startswith("{"):
        values = read_object(param, raw, _spec(*layout))
        flip = (values.get("horizontal", False), values.get("vertical", False))
    elif raw.lower() in _FLIPS:
        flip = _FLIPS[raw.lower()]
    else:
        expected = "vertical, horizontal, both, or horizontal:vertical booleans"
        values = read_colon(param, raw, raw.split(":"), layout, 2, expected)
        flip = (values["horizontal"], values["vertical"])
    return Flip(*flip) if any(flip) else NOOP


# --- color and effects ---------------------------------------------------------------------

scalar("background", "bg", COLOR, "color")
scalar("background_alpha", "bga", UNIT, "number")
scalar("pixelate", "pix", Int(2, 256), "int")
scalar("brightness", "br", FACTOR, "number")
scalar("lightness", "l", FACTOR, "number")
scalar("saturation", "sa", FACTOR, "number")
scalar("hue", "hu", ANGLE, "number")
scalar("colorize", "col", COLOR, "color")


def _switch_or_number(param: str, raw: str, kind: Num, expected: str) -> Any:
    """``true``/``false`` or a positive number; ``0`` means off, like ``false``."""
    if _num_ok(raw):
        return NOOP if float(raw) == 0 else kind.text(param, param, raw)
    switch = read_bool(raw)
    if switch is None:
        raise malformed(param, expected, raw)
    return True if switch else NOOP


@parameter(
    "blur",
    "bl",
    "true, false or sigma",
    "sigma 0.3 to 100; false (or 0) is a no-op",
    kind="bool|number",
)
def _blur(param: str, raw: str) -> Any:
    return _switch_or_number(param, raw, SIGMA, "true, false or a sigma from 0.3 to 100")


_SHARPEN_LEVEL = Num("0", "1000000")
_SHARPEN_SIGMA = Num("0", "100", lo_open=True)


@parameter(
    "sharpen",
    "sh",
    "true, false, sigma, or a JSON object",
    "sigma greater than 0 and at most 100; m1, m2, x1, y2, y3 0 to 1000000; false is a no-op",
    keys="sigma m1 m2 x1 y2 y3 flat jagged",
)
def _sharpen(param: str, raw: str) -> Any:
    if raw.startswith("{"):
        spec = _spec(
            ("sigma", _SHARPEN_SIGMA),
            *((k, _SHARPEN_LEVEL) for k in ("m1", "m2", "x1", "y2", "y3")),
        )
        spec["flat"] = ("m1", _SHARPEN_LEVEL)  # sharp's older names for m1/m2
        spec["jagged"] = ("m2", _SHARPEN_LEVEL)
        return Sharpen(**read_object(param, raw, spec))
    expected = "true, false, a sigma greater than 0 and at most 100, or a JSON object"
    value = _switch_or_number(param, raw, _SHARPEN_SIGMA, expected)
    if value is NOOP:
        return NOOP
    return Sharpen() if value is True else Sharpen(sigma=value)


@parameter(
    "adjust",
    "a",
    "brightness[:saturation[:color]]",
    "each 0.01 to 10",
    keys="brightness saturation color",
)
def _adjust(param: str, raw: str) -> Adjust:
    layout = [("brightness", FACTOR), ("saturation", FACTOR), ("color", FACTOR)]
    if raw.startswith("{"):
        return Adjust(**read_object(param, raw, _spec(*layout), ["brightness"]))
    expected = "brightness[:saturation[:color]] with each 0.01 to 10"
    return Adjust(**read_colon(param, raw, raw.split(":"), layout, 1, expected))


@parameter(
    "contrast",
    "co",
    "multiplier[:pivot]",
    "multiplier 0.01 to 10; pivot 0 to 255",
    keys="multiplier pivot",
)
def _contrast(param: str, raw: str) -> Contrast:
    layout = [("multiplier", FACTOR), ("pivot", Num("0", "255"))]
    if raw.startswith("{"):
        return Contrast(**read_object(param, raw, _spec(*layout), ["multiplier"]))
    expected = "multiplier[:pivot] with multiplier 0.01 to 10 and pivot 0 to 255"
    return Contrast(**read_colon(param, raw, raw.split(":"), layout, 1, expected))


@parameter(
    "duotone",
    "dt",
    "shadowColor:highlightColor",
    "two hex colors, or r:g:b:r:g:b / r:g:b:a:r:g:b:a",
    keys="shadowColor highlightColor",
)
def _duotone(param: str, raw: str) -> Duotone:
    if raw.startswith("{"):
        spec = {"shadowColor": ("shadow", COLOR), "highlightColor": ("highlight", COLOR)}
        return Duotone(**read_object(param, raw, spec, ["shadow", "highlight"]))
    parts = raw.split(":")
    if len(parts) not in (2, 6, 8):
        expected = "shadowColor:highlightColor (two hex colors, r:g:b:r:g:b or r:g:b:a:r:g:b:a)"
        raise malformed(param, expected, raw)
    half = len(parts) // 2
    return Duotone(
        COLOR.text(param, f"{param} shadowColor", ":".join(parts[:half])),
        COLOR.text(param, f"{param} highlightColor", ":".join(parts[half:])),
    )


@parameter("monochrome", "mc", "true, false or a color", "false is a no-op", kind="bool|color")
def _monochrome(param: str, raw: str) -> Any:
    switch = read_bool(raw)
    if switch is not None:
        return True if switch else NOOP
    return COLOR.text(param, param, raw)


@parameter("negate", "neg", "true, false or alpha:boolean", "false is a no-op", keys="alpha")
def _negate(param: str, raw: str) -> Any:
    if raw.startswith("{"):
        return Negate(**read_object(param, raw, _spec(("alpha", BOOL)), ["alpha"]))
    switch = read_bool(raw)
    if switch is not None:
        return Negate() if switch else NOOP
    label, _, value = raw.partition(":")
    if label.lower() != "alpha":
        raise malformed(param, "true, false or alpha:boolean", raw)
    return Negate(BOOL.text(param, f"{param} alpha", value))


@parameter(
    "normalize",
    "norm normalise",
    "true, false or lower:upper",
    "each 0 to 100, lower < upper; false is a no-op",
    keys="lower upper",
)
def _normalize(param: str, raw: str) -> Any:
    layout = [("lower", Num("0", "100")), ("upper", Num("0", "100"))]
    if raw.startswith("{"):
        values = read_object(param, raw, _spec(*layout), ["lower", "upper"])
    else:
        switch = read_bool(raw)
        if switch is not None:
            return Normalize() if switch else NOOP
        expected = "true, false or lower:upper with each 0 to 100"
        values = read_colon(param, raw, raw.split(":"), layout, 2, expected)
    if values["lower"] >= values["upper"]:
        raise TransformError(param, f"{param} lower must be less than upper (each 0 to 100)")
    return Normalize(**values)


class _Colors(Kind):
    description = "a JSON array of 2 to 16 colors"

    def json(self, param: str, where: str, value: object) -> tuple[Color, ...]:
        if not isinstance(value, list):
            self.fail(param, where, json_got(value))
        if not 2 <= len(value) <= 16:
            self.fail(param, where, f"{len(value)} colors")
        return tuple(COLOR.json(param, f"{param} color", item) for item in value)


@parameter(
    "gradient",
    "gr",
    "color1,color2[,colorN][:angle[:opacity[:blend]]]",
    "2 to 16 colors; angle -360 to 360; opacity 0 to 1; blend a blend mode",
    keys="colors angle opacity blend",
)
def _gradient(param: str, raw: str) -> Gradient:
    tail = [("angle", Num("-360", "360")), ("opacity", UNIT), ("blend", BLEND)]
    if raw.startswith("{"):
        return Gradient(**read_object(param, raw, _spec(("colors", _Colors()), *tail), ["colors"]))
    expected = (
        "color1,color2[,colorN][:angle[:opacity[:blend]]] with 2 to 16 hex colors, "
        "angle -360 to 360 and opacity 0 to 1"
    )
    parts = raw.split(":")
    colors = parts[0].split(",")
    if not 2 <= len(colors) <= 16 or len(parts) > 4:
        raise malformed(param, expected, raw)
    values = read_colon(param, raw, parts[1:], tail, 0, expected)
    return Gradient(tuple(COLOR.text(param, f"{param} color", c) for c in colors), **values)


# --- output --------------------------------------------------------------------------------


@parameter(
    "format",
    "f ext extension",
    "enum",
    "auto, jpg, jpeg, png, webp, avif, gif, tiff (jpg = jpeg; auto = absent)",
    kind="enum",
)
def _format(param: str, raw: str) -> Any:
    kind = Choice.of("auto", "jpg", "jpeg", "png", "webp", "avif", "gif", "tiff")
    value = kind.text(param, param, raw)
    return NOOP if value == "auto" else "jpeg" if value == "jpg" else value


@parameter("quality", "q", "int or auto", "an integer from 1 to 100 or auto", kind="int|auto")
def _quality(param: str, raw: str) -> Any:
    if raw.lower() == "auto":
        return "auto"
    try:
        return Int(1, 100).text(param, param, raw)
    except TransformError:
        raise malformed(param, "an integer from 1 to 100 or auto", raw) from None


@parameter("progressive", "", "bool or auto", "a boolean or auto", kind="bool|auto")
def _progressive(param: str, raw: str) -> Any:
    return "auto" if raw.lower() == "auto" else BOOL.text(param, param, raw)


scalar("chroma_subsampling", "", Choice.of("4:4:4", "4:2:2", "auto"), "enum")
scalar("dpi", "", Int(1, 600), "int")
scalar(
    "color_profile",
    "cp icc",
    Choice.of("srgb", "rgb16", "cmyk", "keep", preserve="keep"),
    "enum",
    "one of srgb, rgb16, cmyk, keep, preserve (preserve = keep)",
)
scalar("strip_metadata", "sm", BOOL, "bool")
scalar("strip_color_profile", "scp", BOOL, "bool")
scalar("keep_copyright", "kcr", BOOL, "bool")


# --- watermarks ----------------------------------------------------------------------------

_WM_TAIL = [("opacity", UNIT), ("blend", BLEND)]


@parameter(
    "watermark",
    "wm",
    "image_id[:gravity[:x[:y]]]",
    "image_id a UUID; x, y -8192 to 8192; opacity 0 to 1",
    keys="image_id imageId gravity x y opacity blend",
)
def _watermark(param: str, raw: str) -> Watermark:
    head = [("image_id", ImageId()), ("gravity", GRAVITY), ("x", OFFSET), ("y", OFFSET)]
    if raw.startswith("{"):
        spec = _spec(*head, *_WM_TAIL)
        spec["imageId"] = spec["image_id"]
        return Watermark(**read_object(param, raw, spec, ["image_id"]))
    expected = "image_id[:gravity[:x[:y]]] with x, y from -8192 to 8192"
    return Watermark(**read_colon(param, raw, split_fields(raw), head, 1, expected))


@parameter(
    "watermark_url",
    "wmu",
    "base64 of an https URL",
    "standard or URL-safe base64, padding optional; the URL at most 2048 characters",
    kind="base64",
    max_length=4096,
)
def _watermark_url(param: str, raw: str) -> str:
    expected = "the base64 of an https URL with a host"
    encoded = raw.replace(" ", "+").rstrip("=").replace("-", "+").replace("_", "/")
    try:
        if len(encoded) % 4 == 1:
            raise ValueError(encoded)
        url = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True).decode()
    except (binascii.Error, ValueError):
        raise malformed(param, expected, raw) from None
    if not 1 <= len(url) <= 2048 or not url.isprintable() or " " in url:
        raise malformed(param, f"{expected} (at most 2048 printable characters)", url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise malformed(param, expected, url) from None
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise malformed(param, expected, url)
    if parts.username is not None or parts.password is not None:
        raise TransformError(param, f"{param} must not carry credentials")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    netloc = host if port in (None, 443) else f"{host}:{port}"
    return f"https://{netloc}{parts.path}" + (f"?{parts.query}" if parts.query else "")


_TEXT_SPEC = {
    "text": ("text", Text(2048, newlines=True)),
    **_spec(("font", Text(256)), ("size", Int(1, 8192)), ("color", COLOR)),
    **_spec(("width", DIM), ("height", DIM)),
    "align": ("align", Choice.of("left", "center", "right", centre="center")),
    "gravity": ("gravity", GRAVITY),
    **_spec(*((k, OFFSET) for k in ("x", "y", "left", "top")), *_WM_TAIL),
}


@parameter(
    "watermark_text",
    "wmt",
    "text, or a JSON object",
    "text 1 to 2048 characters; size 1 to 8192; x, y, left, top -8192 to 8192",
    kind="text|object",
    keys=" ".join(_TEXT_SPEC),
    max_length=4096,
)
def _watermark_text(param: str, raw: str) -> WatermarkText:
    if raw.startswith("{"):
        return WatermarkText(**read_object(param, raw, _TEXT_SPEC, ["text"]))
    return WatermarkText(_TEXT_SPEC["text"][1].text(param, param, raw))


@parameter(
    "watermark_position",
    "wmp watermark_offset",
    "gravity[:x[:y[:opacity[:blend]]]]",
    "x, y -8192 to 8192; opacity 0 to 1",
    keys="gravity x y left top opacity blend offset",
)
def _watermark_position(param: str, raw: str) -> WatermarkPosition:
    head = [("gravity", GRAVITY), ("x", OFFSET), ("y", OFFSET), *_WM_TAIL]
    if not raw.startswith("{"):
        expected = "gravity[:x[:y[:opacity[:blend]]]] with x, y -8192 to 8192, opacity 0 to 1"
        return WatermarkPosition(**read_colon(param, raw, split_fields(raw), head, 1, expected))
    data = load_object(param, raw)
    offset = data.pop("offset", None)  # the Python SDK's {offset: {x, y}}
    values = read_json(param, data, _spec(*head, ("left", OFFSET), ("top", OFFSET)), ["gravity"])
    if offset is not None:
        if not isinstance(offset, dict):
            raise TransformError(param, f"{param} offset must be a JSON object {{x, y}}")
        for attr, value in read_json(param, offset, _spec(("x", OFFSET), ("y", OFFSET))).items():
            if attr in values:
                raise TransformError(param, f"{param} JSON object sets {attr} twice")
            values[attr] = value
    return WatermarkPosition(**values)


@parameter(
    "watermark_size",
    "wms",
    "width[:height[:scale]]",
    "width, height 1 to 8192; scale 0.01 to 10",
    keys="width height scale",
)
def _watermark_size(param: str, raw: str) -> WatermarkSize:
    layout = [("width", DIM), ("height", DIM), ("scale", FACTOR)]
    if raw.startswith("{"):
        values = read_object(param, raw, _spec(*layout))
    else:
        expected = "width[:height[:scale]] with width, height 1 to 8192 and scale 0.01 to 10"
        values = read_colon(param, raw, raw.split(":"), layout, 0, expected)
    if not values:
        raise TransformError(param, f"{param} needs a width, height or scale")
    return WatermarkSize(**values)


@parameter(
    "watermark_shadow",
    "wmsh",
    "true, false or color[:blur[:x[:y]]]",
    "a hex color; blur 0.3 to 100; x, y -8192 to 8192; false is a no-op",
    keys="color blur x y",
)
def _watermark_shadow(param: str, raw: str) -> Any:
    layout = [("color", COLOR), ("blur", SIGMA), ("x", OFFSET), ("y", OFFSET)]
    if raw.startswith("{"):
        return WatermarkShadow(**read_object(param, raw, _spec(*layout)))
    switch = read_bool(raw)
    if switch is not None:
        return WatermarkShadow() if switch else NOOP
    expected = "true, false or color[:blur[:x[:y]]] with a hex color and blur 0.3 to 100"
    return WatermarkShadow(**read_colon(param, raw, raw.split(":"), layout, 0, expected))


# --- the table -----------------------------------------------------------------------------

assert set(_REGISTRY) == set(ORDER) and len(ORDER) == 49
PARAMETERS: Mapping[str, Parameter] = MappingProxyType({name: _REGISTRY[name] for name in ORDER})
ALIASES: Mapping[str, str] = MappingProxyType(
    {alias: p.name for p in PARAMETERS.values() for alias in (p.name, *p.aliases)}
)
assert len(ALIASES) == sum(1 + len(p.aliases) for p in PARAMETERS.values()), "alias clash"


def describe_parameters() -> list[dict[str, Any]]:
    """The table for docs and the dashboard's URL builder, in delivery.md order."""
    return [
        {
            "name": p.name,
            "aliases": list(p.aliases),
            "kind": p.kind,
            "syntax": p.syntax,
            "accepted": p.accepted,
            "object_keys": list(p.object_keys),
            "max_length": p.max_length,
        }
        for p in PARAMETERS.values()
    ]


# --- presets and the transform -------------------------------------------------------------


def _preset(width: int, **extra: Any) -> Mapping[str, Any]:
    return MappingProxyType({"width": width, "enlarge": False, **extra})


PRESETS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "thumbnail": _preset(150, height=150, resizing_type="cover", gravity="attention"),
        "small": _preset(320, resizing_type="inside"),
        "medium": _preset(640, resizing_type="inside"),
        "large": _preset(1024, resizing_type="inside"),
    }
)


def _spell(value: Any) -> str:
    return format_field(value, safe=":/")


@dataclass(frozen=True)
class Transform:
    """One canonical transformation: ``params`` maps canonical names to normalised values
    (presets already merged in). Compare ``canonical()``/``cache_key()`` for equivalence."""

    params: Mapping[str, Any]
    preset: str | None = None
    _canonical: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        params = MappingProxyType(dict(sorted(self.params.items())))
        object.__setattr__(self, "params", params)
        text = "&".join(f"{name}={_spell(value)}" for name, value in params.items())
        object.__setattr__(self, "_canonical", text)

    def __hash__(self) -> int:
        return hash((self._canonical, self.preset))

    def canonical(self) -> str:
        return self._canonical

    def cache_key(self) -> str:
        return hashlib.sha256(self._canonical.encode("utf-8")).hexdigest()

    @property
    def is_identity(self) -> bool:
        return not self.params and self.preset is None


def parse_transform(query: Iterable[tuple[str, str]], preset: str | None = None) -> Transform:
    """The Transform for a delivery request's decoded query pairs and optional ``@preset``."""
    if preset is not None and preset not in PRESETS:
        raise TransformError(
            "preset", f"unknown preset {str(preset)[:64]!a} (expected one of {', '.join(PRESETS)})"
        )
    seen: dict[str, str] = {}
    params: dict[str, Any] = {}
    for name, raw in query:
        canonical = ALIASES.get(name) if isinstance(name, str) else None
        if canonical is None:
            shown = name[:64] if isinstance(name, str) else repr(name)[:64]
            raise TransformError(shown, f"unknown parameter {shown!a}")
        if canonical in seen:
            raise TransformError(
                canonical,
                f"{canonical} may appear only once (given as {seen[canonical]!r} and {name!r})",
            )
        seen[canonical] = name
        value = PARAMETERS[canonical].read(raw)
        if value is not NOOP:
            params[canonical] = value
    sources = [name for name in seen if name in WATERMARK_SOURCES]
    if len(sources) > 1:
        raise TransformError(
            sources[1], f"only one watermark source is allowed (got {' and '.join(sources)})"
        )
    if not sources:
        for name in seen:
            if name in WATERMARK_MODIFIERS:
                raise TransformError(
                    name, f"{name} needs a watermark source: {', '.join(WATERMARK_SOURCES)}"
                )
    if preset is not None:
        for name, value in PRESETS[preset].items():
            params.setdefault(name, value)
    return Transform(params, preset)
