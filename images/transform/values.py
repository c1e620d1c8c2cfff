"""Value syntaxes shared by the delivery transform parameters (delivery.md, "URL rules").

Each *kind* reads one field either from URL text (``text``) or from a decoded JSON value
(``json``) and returns a typed, normalised value; anything else raises ``TransformError``
naming the parameter and what it accepts. Nothing here imports Django.

- Integers are ASCII decimal (``-?[0-9]+``); numbers are ASCII decimal without exponents
  (``-?12``, ``1.5``, ``.5``). Unicode digits, ``_`` separators, ``nan``/``inf`` and
  exponents are rejected; JSON numbers may use exponents but must be finite and in range.
  ``-0`` is ``0``.
- Booleans: ``true/false/t/f/1/0/yes/no/on/off``, case-insensitive; JSON ``true``/``false``.
- Enumerations (gravity, blend, formats...) are case-insensitive and normalised to lowercase.
- Colors normalise to ``Color(r, g, b, a)`` with every channel an int 0-255; an ``alpha``
  of 0-1 becomes ``round_half_up(alpha * 255)``, so ``255:0:0:0.5`` equals ``#ff000080``.
  The canonical spelling is lowercase hex without ``#``: ``rrggbb``, or ``rrggbbaa`` when
  not opaque.
- Multi-field values (``Zoom``, ``Crop``, ``WatermarkText``...) are frozen dataclasses
  read from a colon form (``read_colon``) or a JSON object form (``read_object``: known
  keys only, no duplicates, ``null`` means absent, strict JSON types). Their canonical
  spelling is their fields in order joined by ``:`` with free text percent-encoded.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from fractions import Fraction
from functools import cached_property
from typing import Any, NamedTuple, NoReturn
from urllib.parse import quote


class TransformError(ValueError):
    """A delivery query that cannot be honoured: answer 400 with ``message``.

    ``parameter`` is the canonical parameter name (the raw name for an unknown parameter,
    ``"preset"`` for an unknown preset).
    """

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.message = message

    def __reduce__(self):
        return (type(self), (self.parameter, self.message))


_PLAIN = re.compile(r"[!-~]+")


def show(value: object, limit: int = 40) -> str:
    """A short, printable rendering of an offending value for an error message."""
    text = value if isinstance(value, str) else repr(value)
    clipped = text[:limit] + "..." if len(text) > limit else text
    return clipped if _PLAIN.fullmatch(clipped) else ascii(clipped)


def json_got(value: object) -> str:
    if isinstance(value, bool):
        return "JSON " + ("true" if value else "false")
    if value is None:
        return "JSON null"
    if isinstance(value, str):
        return "JSON string " + ascii(value[:40])
    if isinstance(value, list):
        return "a JSON array"
    if isinstance(value, dict):
        return "a JSON object"
    return show(str(value))


# --- JSON object forms ---------------------------------------------------------------------


class _JSONRejected(ValueError):
    pass


def _no_constants(name: str) -> NoReturn:
    raise _JSONRejected(f"{name} is not a number")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _JSONRejected(f"duplicate key {key[:40]!a}")
        out[key] = value
    return out


def load_object(param: str, raw: str) -> dict[str, Any]:
    """Decode a URL-encoded JSON object form: floats as Decimal, no NaN, no duplicate keys."""
    try:
        data = json.loads(
            raw,
            parse_float=Decimal,
            parse_constant=_no_constants,
            object_pairs_hook=_unique_keys,
        )
    except _JSONRejected as exc:
        raise TransformError(param, f"{param} JSON object is invalid: {exc}") from None
    except (ValueError, RecursionError):
        raise TransformError(param, f"{param} is not a valid JSON object") from None
    if not isinstance(data, dict):
        raise TransformError(param, f"{param} JSON form must be an object")
    return data


# --- kinds ---------------------------------------------------------------------------------

_INT = re.compile(r"-?[0-9]{1,24}")
_DECIMAL = re.compile(r"-?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)")


class Kind:
    description = "a value"

    def fail(self, param: str, where: str, got: str) -> NoReturn:
        raise TransformError(param, f"{where} must be {self.description} (got {got})")

    def text(self, param: str, where: str, raw: str) -> Any:
        raise NotImplementedError

    def json(self, param: str, where: str, value: object) -> Any:
        if isinstance(value, str):
            return self.text(param, where, value)
        self.fail(param, where, json_got(value))


@dataclass(frozen=True)
class Int(Kind):
    lo: int
    hi: int

    @property
    def description(self) -> str:
        return f"an integer from {self.lo} to {self.hi}"

    def text(self, param: str, where: str, raw: str) -> int:
        if not _INT.fullmatch(raw):
            self.fail(param, where, show(raw))
        return self._check(param, where, int(raw), raw)

    def json(self, param: str, where: str, value: object) -> int:
        if type(value) is not int:
            self.fail(param, where, json_got(value))
        return self._check(param, where, value, str(value))

    def _check(self, param: str, where: str, number: int, raw: str) -> int:
        if not self.lo <= number <= self.hi:
            self.fail(param, where, show(raw))
        return number


@dataclass(frozen=True)
class Num(Kind):
    """A decimal number; ``exact`` returns a Fraction instead of a float."""

    lo: str | None = None
    hi: str | None = None
    lo_open: bool = False
    exact: bool = False

    @property
    def description(self) -> str:
        if self.lo is None and self.hi is None:
            return "a finite number"
        if self.hi is None:
            return f"a number greater than {self.lo}" if self.lo_open else f"a number >= {self.lo}"
        if self.lo_open:
            return f"a number greater than {self.lo} and at most {self.hi}"
        return f"a number from {self.lo} to {self.hi}"

    def text(self, param: str, where: str, raw: str) -> float | Fraction:
        if not _DECIMAL.fullmatch(raw):
            self.fail(param, where, show(raw))
        return self._check(param, where, Decimal(raw), raw)

    def json(self, param: str, where: str, value: object) -> float | Fraction:
        if type(value) is int:
            value = Decimal(value)
        if not isinstance(value, Decimal):
            self.fail(param, where, json_got(value))
        return self._check(param, where, value, str(value))

    def _check(self, param: str, where: str, number: Decimal, raw: str) -> float | Fraction:
        got = show(raw)
        if not number.is_finite():
            self.fail(param, where, got)
        if self.lo is not None:
            lo = Decimal(self.lo)
            if number < lo or (self.lo_open and number == lo):
                self.fail(param, where, got)
        if self.hi is not None and number > Decimal(self.hi):
            self.fail(param, where, got)
        if self.exact:
            return Fraction(number)
        as_float = float(number)
        if not math.isfinite(as_float):
            self.fail(param, where, got)
        return as_float + 0.0  # -0.0 -> 0.0


TRUE_WORDS = frozenset({"true", "t", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "f", "0", "no", "off"})


def read_bool(raw: str) -> bool | None:
    """True/False for a boolean word, None for anything else."""
    word = raw.lower() if raw.isascii() else ""
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None


class Bool(Kind):
    description = "a boolean (true/false, t/f, 1/0, yes/no, on/off)"

    def text(self, param: str, where: str, raw: str) -> bool:
        value = read_bool(raw)
        if value is None:
            self.fail(param, where, show(raw))
        return value

    def json(self, param: str, where: str, value: object) -> bool:
        if not isinstance(value, bool):
            self.fail(param, where, json_got(value))
        return value


@dataclass(frozen=True)
class Choice(Kind):
    """A case-insensitive enumeration; ``mapping`` sends each accepted word to its value."""

    mapping: tuple[tuple[str, str], ...]
    label: str | None = None

    @cached_property
    def lookup(self) -> dict[str, str]:
        return dict(self.mapping)

    @classmethod
    def of(cls, *words: str, **synonyms: str) -> Choice:
        return cls(tuple((w, w) for w in words) + tuple(synonyms.items()))

    @property
    def description(self) -> str:
        return self.label or "one of " + ", ".join(word for word, _ in self.mapping)

    def text(self, param: str, where: str, raw: str) -> str:
        value = self.lookup.get(raw.lower()) if raw.isascii() else None
        if value is None:
            self.fail(param, where, show(raw))
        return value


GRAVITIES = (
    "center",
    "north",
    "south",
    "east",
    "west",
    "northeast",
    "northwest",
    "southeast",
    "southwest",
    "attention",
    "entropy",
    # The image's own focus area (custom_coordinates, ImageKit fo-custom): focus.py.
    "custom",
)
GRAVITY_SHORTHANDS = {
    "ce": "center",
    "n": "north",
    "no": "north",
    "s": "south",
    "so": "south",
    "e": "east",
    "ea": "east",
    "w": "west",
    "we": "west",
    "ne": "northeast",
    "noea": "northeast",
    "se": "southeast",
    "soea": "southeast",
    "nw": "northwest",
    "nowe": "northwest",
    "sw": "southwest",
    "sowe": "southwest",
    "ce:sm": "attention",
}
GRAVITY = Choice(
    tuple((g, g) for g in GRAVITIES) + tuple(GRAVITY_SHORTHANDS.items()),
    label="a gravity: " + ", ".join(GRAVITIES) + " (or ce, n/no, ne/noea, ..., ce:sm)",
)
# libvips/sharp composite blend modes; the British spellings are synonyms.
BLEND_MODES = (
    "clear",
    "source",
    "over",
    "in",
    "out",
    "atop",
    "dest",
    "dest-over",
    "dest-in",
    "dest-out",
    "dest-atop",
    "xor",
    "add",
    "saturate",
    "multiply",
    "screen",
    "overlay",
    "darken",
    "lighten",
    "color-dodge",
    "color-burn",
    "hard-light",
    "soft-light",
    "difference",
    "exclusion",
)
BLEND = Choice.of(*BLEND_MODES, **{"colour-dodge": "color-dodge", "colour-burn": "color-burn"})


@dataclass(frozen=True)
class Text(Kind):
    """Free text of 1..``max_chars`` code points, no control characters (``\\n`` if allowed)."""

    max_chars: int
    newlines: bool = False

    @property
    def description(self) -> str:
        return f"text of 1 to {self.max_chars} characters without control characters"

    def text(self, param: str, where: str, raw: str) -> str:
        if not 1 <= len(raw) <= self.max_chars:
            self.fail(param, where, f"{len(raw)} characters")
        for char in raw:
            if unicodedata.category(char) in ("Cc", "Cs") and not (self.newlines and char == "\n"):
                self.fail(param, where, f"control character {char!a}")
        return raw


_UUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}",
    re.IGNORECASE | re.ASCII,
)


class ImageId(Kind):
    description = "an Imgwire image id (a UUID)"

    def text(self, param: str, where: str, raw: str) -> str:
        if not _UUID.fullmatch(raw):
            self.fail(param, where, show(raw))
        return str(uuid.UUID(raw))


# --- colors --------------------------------------------------------------------------------


class Color(NamedTuple):
    """An sRGB color; every channel, alpha included, is an int 0-255."""

    r: int
    g: int
    b: int
    a: int = 255

    def hex(self) -> str:
        channels = self if self.a != 255 else self[:3]
        return "".join(f"{c:02x}" for c in channels)


_HEX = re.compile(r"#?([0-9a-f]{3}|[0-9a-f]{6}|[0-9a-f]{8})", re.IGNORECASE | re.ASCII)
CHANNEL = Int(0, 255)
ALPHA = Num("0", "1", exact=True)
_COLOR_KEYS = ("r", "g", "b", "alpha")


def _alpha_byte(alpha: Fraction) -> int:
    return math.floor(alpha * 255 + Fraction(1, 2))


class ColorKind(Kind):
    description = (
        "a color: rgb, rrggbb or rrggbbaa hex (optionally with #), r:g:b[:alpha] with "
        "channels 0 to 255 and alpha 0 to 1, or a JSON object {r, g, b, alpha?}"
    )

    def text(self, param: str, where: str, raw: str) -> Color:
        if raw.startswith("{"):
            return self.json(param, where, load_object(param, raw))
        if ":" in raw:
            parts = raw.split(":")
            if len(parts) not in (3, 4):
                self.fail(param, where, show(raw))
            rgb = [
                CHANNEL.text(param, f"{where} {n}", f) for n, f in zip("rgb", parts, strict=False)
            ]
            alpha = ALPHA.text(param, f"{where} alpha", parts[3]) if len(parts) == 4 else 1
            return Color(*rgb, _alpha_byte(Fraction(alpha)))
        match = _HEX.fullmatch(raw)
        if not match:
            self.fail(param, where, show(raw))
        digits = match.group(1).lower()
        if len(digits) == 3:
            digits = "".join(d * 2 for d in digits)
        return Color(*(int(digits[i : i + 2], 16) for i in range(0, len(digits), 2)))

    def json(self, param: str, where: str, value: object) -> Color:
        if isinstance(value, str):
            return self.text(param, where, value)
        if not isinstance(value, dict):
            self.fail(param, where, json_got(value))
        for key in value:
            if key not in _COLOR_KEYS:
                self.fail(param, where, f"unknown key {key[:40]!a}")
        rgb = []
        for key in "rgb":
            if value.get(key) is None:
                self.fail(param, where, f"no {key}")
            rgb.append(CHANNEL.json(param, f"{where} {key}", value[key]))
        alpha = value.get("alpha")
        alpha = 1 if alpha is None else ALPHA.json(param, f"{where} alpha", alpha)
        return Color(*rgb, _alpha_byte(Fraction(alpha)))


COLOR = ColorKind()


# --- canonical spelling --------------------------------------------------------------------


def format_number(number: float) -> str:
    """Shortest round-tripping spelling; integral values without ``.0``."""
    if number == 0:
        return "0"
    if number.is_integer() and abs(number) < 1e16:
        return str(int(number))
    return repr(number)


def format_field(value: object, safe: str = "") -> str:
    """Canonical spelling of one field; free text is percent-encoded so ``:``/``&`` stay
    separators. ``None`` (an absent optional field) is the empty string."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, Color):
        return value.hex()
    if isinstance(value, Fraction):
        return f"{value.numerator}:{value.denominator}"
    if isinstance(value, tuple):
        return ",".join(format_field(item, safe) for item in value)
    if isinstance(value, str):
        return quote(value, safe=safe)
    canonical = getattr(value, "canonical", None)
    if canonical is not None:
        return canonical()
    raise TypeError(f"no canonical spelling for {type(value).__name__}")


# --- multi-field values: colon and JSON object forms ---------------------------------------

Spec = Mapping[str, tuple[str, Kind]]  # JSON key -> (attribute, kind)


def malformed(param: str, expected: str, raw: str) -> TransformError:
    return TransformError(param, f"{param} must be {expected} (got {show(raw)})")


def split_fields(raw: str) -> list[str]:
    """Colon fields, keeping the compat gravity ``ce:sm`` as one field."""
    out: list[str] = []
    for part in raw.split(":"):
        if out and out[-1].lower() == "ce" and part.lower() == "sm":
            out[-1] += ":" + part
        else:
            out.append(part)
    return out


def read_colon(
    param: str,
    raw: str,
    parts: Sequence[str],
    layout: Sequence[tuple[str, Kind]],
    required: int,
    expected: str,
    rest: bool = False,
) -> dict[str, Any]:
    """Positional colon fields; empty optional fields are absent. With ``rest`` the last
    field takes everything left over (a trailing ``r:g:b`` color)."""
    if rest and len(parts) > len(layout):
        parts = [*parts[: len(layout) - 1], ":".join(parts[len(layout) - 1 :])]
    if not required <= len(parts) <= len(layout):
        raise malformed(param, expected, raw)
    out: dict[str, Any] = {}
    for index, (part, (attr, kind)) in enumerate(zip(parts, layout, strict=False)):
        if part == "":
            if index < required:
                raise malformed(param, expected, raw)
            continue
        out[attr] = kind.text(param, f"{param} {attr}", part)
    return out


def read_json(
    param: str, data: Mapping[str, Any], spec: Spec, required: Iterable[str] = ()
) -> dict[str, Any]:
    """Fields of a JSON object form: known keys only, each attribute once, ``null`` absent."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in spec:
            accepted = ", ".join(spec)
            raise TransformError(
                param, f"{param} JSON object has unknown key {key[:40]!a} (accepted: {accepted})"
            )
        attr, kind = spec[key]
        if attr in out:
            raise TransformError(param, f"{param} JSON object sets {attr} twice")
        if value is not None:
            out[attr] = kind.json(param, f"{param} {attr}", value)
    for attr in required:
        if attr not in out:
            raise TransformError(param, f"{param} JSON object needs {attr}")
    return out


def read_object(param: str, raw: str, spec: Spec, required: Iterable[str] = ()) -> dict[str, Any]:
    return read_json(param, load_object(param, raw), spec, required)


class Fields:
    """Canonical spelling: the fields in declaration order joined by ``:``, absent optional
    fields empty and trailing empties dropped; ``true`` when nothing is set."""

    __slots__ = ()

    def canonical(self) -> str:
        parts = [format_field(getattr(self, f.name)) for f in fields(self)]  # type: ignore[arg-type]
        while parts and parts[-1] == "":
            parts.pop()
        return ":".join(parts) or "true"


@dataclass(frozen=True, slots=True)
class Zoom(Fields):
    factor: float
    gravity: str | None = None


@dataclass(frozen=True, slots=True)
class Crop(Fields):
    width: int
    height: int
    x: int | None = None
    y: int | None = None
    gravity: str | None = None

    def canonical(self) -> str:
        head = [] if self.x is None else [self.x, self.y]
        parts = [*head, self.width, self.height, *([self.gravity] if self.gravity else [])]
        return ":".join(format_field(v) for v in parts)


@dataclass(frozen=True, slots=True)
class Extend(Fields):
    top: int = 0
    right: int = 0
    bottom: int = 0
    left: int = 0
    background: Color | None = None


@dataclass(frozen=True, slots=True)
class Padding(Fields):
    top: int
    right: int
    bottom: int
    left: int


@dataclass(frozen=True, slots=True)
class Rotate(Fields):
    angle: float
    background: Color | None = None


@dataclass(frozen=True, slots=True)
class Flip(Fields):
    horizontal: bool
    vertical: bool

    def canonical(self) -> str:
        if self.horizontal and self.vertical:
            return "both"
        return "horizontal" if self.horizontal else "vertical"


@dataclass(frozen=True, slots=True)
class Sharpen(Fields):
    sigma: float | None = None
    m1: float | None = None
    m2: float | None = None
    x1: float | None = None
    y2: float | None = None
    y3: float | None = None


@dataclass(frozen=True, slots=True)
class Adjust(Fields):
    brightness: float
    saturation: float | None = None
    color: float | None = None


@dataclass(frozen=True, slots=True)
class Contrast(Fields):
    multiplier: float
    pivot: float | None = None


@dataclass(frozen=True, slots=True)
class Duotone(Fields):
    shadow: Color
    highlight: Color


@dataclass(frozen=True, slots=True)
class Negate(Fields):
    alpha: bool | None = None  # None: plain ``negate=true``

    def canonical(self) -> str:
        return "true" if self.alpha is None else f"alpha:{format_field(self.alpha)}"


@dataclass(frozen=True, slots=True)
class Normalize(Fields):
    lower: float | None = None  # both None: plain ``normalize=true``
    upper: float | None = None


@dataclass(frozen=True, slots=True)
class Gradient(Fields):
    colors: tuple[Color, ...]
    angle: float | None = None
    opacity: float | None = None
    blend: str | None = None


@dataclass(frozen=True, slots=True)
class Watermark(Fields):
    image_id: str
    gravity: str | None = None
    x: int | None = None
    y: int | None = None
    opacity: float | None = None
    blend: str | None = None


@dataclass(frozen=True, slots=True)
class WatermarkText(Fields):
    text: str
    font: str | None = None
    size: int | None = None
    color: Color | None = None
    width: int | None = None
    height: int | None = None
    align: str | None = None
    gravity: str | None = None
    x: int | None = None
    y: int | None = None
    left: int | None = None
    top: int | None = None
    opacity: float | None = None
    blend: str | None = None


@dataclass(frozen=True, slots=True)
class WatermarkPosition(Fields):
    gravity: str
    x: int | None = None
    y: int | None = None
    opacity: float | None = None
    blend: str | None = None
    left: int | None = None
    top: int | None = None


@dataclass(frozen=True, slots=True)
class WatermarkSize(Fields):
    width: int | None = None
    height: int | None = None
    scale: float | None = None


@dataclass(frozen=True, slots=True)
class WatermarkShadow(Fields):
    color: Color | None = None  # all None: plain ``watermark_shadow=true``
    blur: float | None = None
    x: int | None = None
    y: int | None = None
