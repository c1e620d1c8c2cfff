"""ImageKit's transformation syntax, read onto Imgwire's own parameters.

ImageKit writes a transformation as ``w-300,h-200,c-maintain_ratio:rt-90``: ``,`` separates
the parameters of one step, ``:`` chains steps, each parameter is ``key-value`` (``key``
alone for switches such as ``e-grayscale``). ``translate`` turns each step into a dict of
Imgwire's canonical parameter names and their values in Imgwire's URL syntax;
``to_query`` merges the steps into the one query the delivery parser reads
(images/transform/params.py), which also holds the values to Imgwire's limits, so an
ImageKit URL and the equivalent Imgwire URL are one cache entry. Anything the engine cannot
do is refused, naming the ImageKit parameter, never ignored.

Decisions where ImageKit's semantics and the engine's differ:

- **Chains** are merged into one transformation rendered in Imgwire's fixed order
  (rotate before resize). A right-angle ``rt`` after a step that sized the image swaps
  that step's width and height, so ``w-300,h-200:rt-90`` is still 200 x 300. A parameter
  set in two steps is refused (the engine has one of each).
- ``w``/``h`` are integer pixels; ImageKit's fractions (``w-0.5``), ``auto`` and
  arithmetic (``iw_div_2``) are refused. ``ar-W-H`` with one of ``w``/``h`` fixes the other.
- ``c-maintain_ratio`` (the default) is ``resizing_type=cover``, ``c-force`` ``fill``,
  ``c-at_max`` ``inside``, ``c-at_max_enlarge`` ``inside`` + ``enlarge=true``, ``c-at_least``
  ``outside``; ``cm-pad_resize`` is ``contain`` on ``bg`` (white unless given, as ImageKit
  pads), ``cm-extract`` a crop of ``w`` x ``h`` at ``x``/``y`` (or ``xc``/``yc``, or placed by
  ``fo``). Imgwire never enlarges unless ``c-at_max_enlarge`` says so.
- ``fo``: ``center``, ``top``, ``left``, ``bottom``, ``right``, ``top_left``, ``top_right``,
  ``bottom_left``, ``bottom_right``; ``auto`` and ``face`` are content-aware (``attention``);
  ``custom`` centres on the image's ``customCoordinates`` (images/transform/focus.py).
- ``bg``: ``RRGGBB``, ``RRGGBBAA`` whose last two digits are ImageKit's opacity 00-99 (percent),
  or a CSS colour name (``bg-red``).
- ``rt``: 0, 90, 180, 270, 360 or ``N90`` (ImageKit's minus); ``rt-auto`` is what Imgwire
  always does (EXIF orientation), so it requests nothing.
- ``bl-N`` is ``blur=N``; ``e-sharpen[-N]`` ``sharpen[=N]``; ``e-grayscale`` ``monochrome``;
  ``e-contrast`` ``normalize``; ``b-W_RRGGBB`` an ``extend`` of W on every side in that colour;
  ``fl-h``/``fl-v``/``fl-h_v``; ``pr-true`` ``progressive``; ``cp-true`` keeps the colour
  profile; ``dpr-N``; ``z-N`` zoom (1-10); ``q-N``; ``f-`` a format (``auto``, ``jpg``, ...);
  ``n-<preset>`` one of Imgwire's presets (``n-ik_ml_thumbnail`` is ``@thumbnail``).
- ``orig-true`` asks for the original: only alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from imgwire_site import domain
from imgwire_site.domain import Refusal

from .params import PRESETS, Transform, parse_transform
from .values import TransformError

MAX_LENGTH = 2048
MAX_STEPS = 10

_CROPS = {
    "maintain_ratio": {"resizing_type": "cover"},
    "force": {"resizing_type": "fill"},
    "at_max": {"resizing_type": "inside"},
    "at_max_enlarge": {"resizing_type": "inside", "enlarge": "true"},
    "at_least": {"resizing_type": "outside"},
}
_MODES = ("pad_resize", "extract")
_FOCUS = {
    "center": "center",
    "top": "north",
    "bottom": "south",
    "left": "west",
    "right": "east",
    "top_left": "northwest",
    "top_right": "northeast",
    "bottom_left": "southwest",
    "bottom_right": "southeast",
    "auto": "attention",
    "face": "attention",
    "custom": "custom",
}
_FORMATS = ("auto", "jpg", "jpeg", "png", "webp", "avif", "gif")
_FLIPS = {"h": "horizontal", "v": "vertical", "h_v": "both", "v_h": "both"}
_PRESET_NAMES = {"ik_ml_thumbnail": "thumbnail", **{name: name for name in PRESETS}}
_SWITCHES = {"e-grayscale": ("monochrome", "true"), "e-contrast": ("normalize", "true")}
# ImageKit parameters the engine has no counterpart for: refused with this sentence.
_UNSUPPORTED = {
    "r": "rounded corners (r) are not supported",
    "t": "trimming (t) is not supported",
    "o": "opacity (o) applies to overlays, which are not supported",
    "l": "layers (l-) are not supported",
    "di": "a default image (di) is not supported",
    "md": "keeping metadata (md) is not supported; metadata is always stripped",
    "lo": "lossless (lo) is not supported",
    "e-usm": "the unsharp mask (e-usm) is not supported; use e-sharpen",
    "e-shadow": "shadows (e-shadow) are not supported",
    "e-gradient": "gradients (e-gradient) are not supported",
    "cr": "colour replacement (cr) is not supported",
    "pg": "pages (pg) are not supported",
}


def _refuse(message: str) -> Refusal:
    return Refusal(domain.INVALID_VALUE, message, field="transformation")


def _shown(text: str) -> str:
    return ascii(text[:64])


def _integer(key: str, value: str, *, signed: bool = False) -> int:
    negative = signed and value.startswith("N")
    digits = value[1:] if negative else value
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 6:
        raise _refuse(
            f"the ImageKit parameter {key} must be a whole number of pixels "
            f"(got {_shown(value)}); fractions, auto and expressions are not supported"
        )
    return -int(digits) if negative else int(digits)


def _color(key: str, value: str) -> str:
    """An ImageKit colour as Imgwire's hex (rrggbb or rrggbbaa)."""
    text = value.lower()
    if len(text) in (3, 6) and all(c in "0123456789abcdef" for c in text):
        return text
    if len(text) == 8 and all(c in "0123456789abcdef" for c in text[:6]) and text[6:].isdigit():
        alpha = round(int(text[6:]) * 255 / 99)  # ImageKit: the last two digits are 00-99
        return f"{text[:6]}{alpha:02x}"
    from PIL import ImageColor  # CSS colour names, as ImageKit accepts (bg-red)

    try:
        rgb = ImageColor.getrgb(text) if text.isascii() and text.isalpha() else None
    except ValueError:
        rgb = None
    if rgb is None:
        raise _refuse(
            f"the ImageKit parameter {key} must be a colour: RRGGBB, RRGGBBAA (AA 00-99) "
            f"or a colour name (got {_shown(value)})"
        )
    return "".join(f"{c:02x}" for c in rgb[:3])


def _split(item: str) -> tuple[str, str | None]:
    """``e-sharpen-10`` -> (``e-sharpen``, ``10``); ``w-300`` -> (``w``, ``300``)."""
    if item.startswith("e-"):
        name, _, value = item[2:].partition("-")
        return f"e-{name}", value or None
    key, dash, value = item.partition("-")
    return key, value if dash else None


def _step(text: str) -> dict[str, str]:
    """One ImageKit step as ``{ImageKit key: value}`` (raw), in order; duplicates refused."""
    found: dict[str, str] = {}
    for item in text.split(","):
        if not item:
            raise _refuse(f"the ImageKit transformation {_shown(text)} has an empty parameter")
        key, value = _split(item)
        if key in found:
            raise _refuse(f"the ImageKit parameter {key} appears twice in one step")
        if value is None and key not in ("e-grayscale", "e-contrast", "e-sharpen"):
            raise _refuse(f"the ImageKit parameter {_shown(key)} needs a value ({key}-value)")
        found[key] = value or ""
    return found


def _sized(step: dict[str, str]) -> tuple[int | None, int | None]:
    width = _integer("w", step["w"]) if "w" in step else None
    height = _integer("h", step["h"]) if "h" in step else None
    if "ar" in step:
        parts = step["ar"].split("-")
        if len(parts) != 2:
            raise _refuse(
                f"the ImageKit parameter ar must be W-H, e.g. ar-4-3 (got {step['ar']!a})"
            )
        aw, ah = (_integer("ar", part) for part in parts)
        if not aw or not ah:
            raise _refuse("the ImageKit parameter ar needs two positive numbers")
        if (width is None) == (height is None):
            raise _refuse("the ImageKit parameter ar needs exactly one of w and h")
        if width is not None:
            height = max(1, round(width * ah / aw))
        else:
            width = max(1, round(height * aw / ah))
    return width, height


def _translate_step(step: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key in step:
        if key in _UNSUPPORTED:
            raise _refuse(f"unsupported ImageKit parameter {key}: {_UNSUPPORTED[key]}")
    known = {
        "w", "h", "ar", "c", "cm", "fo", "x", "y", "xc", "yc", "q", "f", "bg", "rt", "bl",
        "e-grayscale", "e-contrast", "e-sharpen", "b", "fl", "pr", "cp", "dpr", "z", "n", "orig",
    }  # fmt: skip
    unknown = [key for key in step if key not in known]
    if unknown:
        names = ", ".join(_shown(key) for key in unknown)
        raise _refuse(f"unknown ImageKit transformation parameter {names}")
    width, height = _sized(step)
    mode = step.get("cm")
    if mode is not None and mode not in _MODES:
        raise _refuse(
            f"the ImageKit parameter cm must be one of {', '.join(_MODES)} (got {_shown(mode)})"
        )
    crop = step.get("c")
    if crop is not None and crop not in _CROPS:
        raise _refuse(
            f"the ImageKit parameter c must be one of {', '.join(_CROPS)} (got {_shown(crop)})"
        )
    if crop is not None and mode is not None:
        raise _refuse("the ImageKit parameters c and cm cannot be combined")
    gravity = None
    if "fo" in step:
        gravity = _FOCUS.get(step["fo"])
        if gravity is None:
            raise _refuse(
                f"the ImageKit parameter fo must be one of {', '.join(_FOCUS)} "
                f"(got {_shown(step['fo'])}); object focus is not supported"
            )
    if mode == "extract":
        if width is None or height is None:
            raise _refuse("cm-extract needs both w and h")
        x, y = _position(step, width, height)
        if x is None:
            out["crop"] = f"{width}:{height}" + (f":{gravity}" if gravity else "")
        else:
            out["crop"] = f"{x}:{y}:{width}:{height}"
    else:
        for key in ("x", "y", "xc", "yc"):
            if key in step:
                raise _refuse(f"the ImageKit parameter {key} is only used with cm-extract")
        if width is not None:
            out["width"] = str(width)
        if height is not None:
            out["height"] = str(height)
        if mode == "pad_resize":
            out["resizing_type"] = "contain"
            out.setdefault("background", "ffffff")
        elif crop is not None:
            out.update(_CROPS[crop])
        if gravity is not None:
            out["gravity"] = gravity
    _finish(step, out)
    return out


def _position(step: dict[str, str], width: int, height: int) -> tuple[int | None, int | None]:
    if "x" in step or "y" in step:
        return _integer("x", step.get("x", "0")), _integer("y", step.get("y", "0"))
    if "xc" in step or "yc" in step:
        if "xc" not in step or "yc" not in step:
            raise _refuse("the ImageKit parameters xc and yc go together")
        xc, yc = _integer("xc", step["xc"]), _integer("yc", step["yc"])
        return max(0, xc - width // 2), max(0, yc - height // 2)
    return None, None


def _finish(step: dict[str, str], out: dict[str, str]) -> None:
    """The parameters that do not depend on the resize."""
    if "bg" in step:
        out["background"] = _color("bg", step["bg"])
    if "q" in step:
        out["quality"] = str(_integer("q", step["q"]))
    if "f" in step:
        if step["f"] not in _FORMATS:
            raise _refuse(
                f"the ImageKit parameter f must be one of {', '.join(_FORMATS)} "
                f"(got {_shown(step['f'])})"
            )
        out["format"] = step["f"]
    if "rt" in step and step["rt"] != "auto":
        angle = _integer("rt", step["rt"], signed=True)
        if angle % 90:
            raise _refuse(
                f"the ImageKit parameter rt must be 0, 90, 180, 270, 360 or auto (got {angle})"
            )
        out["rotate"] = str(angle % 360)
    if "bl" in step:
        out["blur"] = str(_integer("bl", step["bl"]))
    for key, (name, value) in _SWITCHES.items():
        if key in step:
            if step[key]:
                raise _refuse(f"the ImageKit parameter {key} takes no value")
            out[name] = value
    if "e-sharpen" in step:
        out["sharpen"] = (
            str(_integer("e-sharpen", step["e-sharpen"])) if step["e-sharpen"] else "true"
        )
    if "b" in step:
        size, _, color = step["b"].partition("_")
        border = _integer("b", size)
        if not color:
            raise _refuse("the ImageKit parameter b must be WIDTH_COLOR, e.g. b-5_FF0000")
        out["extend"] = f"{border}:{border}:{border}:{border}:{_color('b', color)}"
    if "fl" in step:
        if step["fl"] not in _FLIPS:
            raise _refuse(
                f"the ImageKit parameter fl must be h, v or h_v (got {_shown(step['fl'])})"
            )
        out["flip"] = _FLIPS[step["fl"]]
    for key, name in (("pr", "progressive"), ("cp", "color_profile")):
        if key in step:
            if step[key] not in ("true", "false"):
                raise _refuse(f"the ImageKit parameter {key} must be true or false")
            if key == "pr":
                out[name] = step[key]
            else:
                out[name] = "keep" if step[key] == "true" else "srgb"
    if "dpr" in step:
        out["dpr"] = step["dpr"]
    if "z" in step:
        out["zoom"] = step["z"]
    if "n" in step:
        preset = _PRESET_NAMES.get(step["n"])
        if preset is None:
            raise _refuse(
                f"unknown named transformation {_shown(step['n'])} "
                f"(expected one of {', '.join(_PRESET_NAMES)})"
            )
        out["@preset"] = preset
    if "orig" in step:
        if step["orig"] != "true" or len(step) > 1:
            raise _refuse("the ImageKit parameter orig is only orig-true, alone")
        out["@original"] = "true"


def translate(tr: str) -> list[dict[str, str]]:
    """Each step of ImageKit transformation ``tr`` as ``{canonical name: Imgwire value}``.

    A step may carry ``@preset`` (a named transformation) or ``@original`` (``orig-true``).
    Refusal(INVALID_VALUE, field="transformation") names what cannot be translated."""
    if not isinstance(tr, str):
        raise _refuse("an ImageKit transformation must be text")
    if len(tr) > MAX_LENGTH:
        raise _refuse(f"an ImageKit transformation is at most {MAX_LENGTH} characters")
    if not tr.isascii() or not tr.isprintable() or not tr.strip():
        raise _refuse(f"the ImageKit transformation {_shown(tr)} is not printable ASCII text")
    steps = tr.split(":")
    if len(steps) > MAX_STEPS:
        raise _refuse(f"an ImageKit transformation chains at most {MAX_STEPS} steps")
    return [_translate_step(_step(step)) for step in steps]


def _merge(steps: list[dict[str, str]]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for step in steps:
        if merged and step.get("rotate") in ("90", "270"):
            # rotated after it was sized: the earlier box turns with the picture
            width, height = merged.pop("width", None), merged.pop("height", None)
            if height is not None:
                merged["width"] = height
            if width is not None:
                merged["height"] = width
        for name, value in step.items():
            if name in merged:
                raise _refuse(
                    f"the ImageKit chain sets {name} in two steps; Imgwire renders one of each"
                )
            merged[name] = value
    if "@original" in merged and len(merged) > 1:
        raise _refuse("orig-true cannot be combined with other transformations")
    return merged


def to_query(tr: str) -> tuple[list[tuple[str, str]], str | None]:
    """The Imgwire delivery query pairs and preset for ``tr``, checked by the delivery
    parser (so its limits hold). Refusal when anything cannot be honoured."""
    merged = _merge(translate(tr))
    preset = merged.pop("@preset", None)
    merged.pop("@original", None)
    query = list(merged.items())
    _checked(query, preset)
    return query, preset


def _checked(query: list[tuple[str, str]], preset: str | None) -> Transform:
    try:
        return parse_transform(query, preset)
    except TransformError as error:
        raise _refuse(f"in the ImageKit transformation: {error.message}") from None


def to_transform(tr: str) -> Transform:
    """The canonical Transform ``tr`` means."""
    query, preset = to_query(tr)
    return _checked(query, preset)


def delivery_suffix(tr: str) -> str:
    """What follows the image id in an Imgwire CDN URL for ``tr``: ``@preset`` and/or
    ``?width=300&…`` (empty for no transformation)."""
    query, preset = to_query(tr)
    suffix = f"@{preset}" if preset else ""
    return suffix + (f"?{urlencode(query, safe=':')}" if query else "")


def post_transformations(items: Iterable[Any]) -> list[str]:
    """The ImageKit strings of an upload's ``transformation.post`` list
    (``[{"type": "transformation", "value": "w-200"}, …]``), each checked by ``to_query``.
    Types other than ``transformation`` (``gif-to-video``, ``thumbnail``, ``abs``) are for
    video and are refused."""
    if isinstance(items, (str, bytes, dict)) or not isinstance(items, Iterable):
        raise _refuse("transformation.post must be a list of {type, value} objects")
    values = []
    for index, item in enumerate(items):
        if index >= MAX_STEPS:
            raise _refuse(f"transformation.post has at most {MAX_STEPS} items")
        if not isinstance(item, dict):
            raise _refuse(f"transformation.post item {index} must be an object {{type, value}}")
        kind = item.get("type")
        if kind != "transformation":
            raise _refuse(
                f"transformation.post item {index} has type {_shown(str(kind))}: only "
                "'transformation' is supported for images"
            )
        value = item.get("value")
        if not isinstance(value, str) or not value:
            raise _refuse(f"transformation.post item {index} needs a value (a transformation)")
        to_query(value)
        values.append(value)
    return values
