"""The image page's URL builder: one field per delivery parameter, made from the transform
registry (``images.transform.PARAMETERS``) so a parameter added there gets a field without
an edit here (under "Other" until it is given a group and a label), and checked by the
delivery parser itself, never by a second copy of its rules."""

import re
from urllib.parse import parse_qsl, urlencode

from django import forms

from images.forms import form_problems
from images.transform import PARAMETERS, PRESETS, Parameter, Transform, TransformError
from images.transform import parse_transform as delivery_parse
from images.transform.values import read_bool

# (fieldset legend, the parameters it holds), in the page's order.
GROUPS = (
    (
        "Size and fit",
        (
            "width",
            "height",
            "min-width",
            "min-height",
            "resizing_type",
            "resizing_algorithm",
            "enlarge",
        ),
    ),
    ("Crop, zoom and gravity", ("crop", "zoom", "gravity")),
    (
        "Padding and extend",
        ("padding", "extend", "extend_aspect_ratio", "background", "background_alpha"),
    ),
    ("Rotate and flip", ("rotate", "flip")),
    (
        "Colour and effects",
        (
            "blur",
            "sharpen",
            "pixelate",
            "brightness",
            "lightness",
            "saturation",
            "hue",
            "adjust",
            "contrast",
            "colorize",
            "duotone",
            "monochrome",
            "negate",
            "normalize",
            "gradient",
        ),
    ),
    (
        "Watermark",
        (
            "watermark",
            "watermark_url",
            "watermark_text",
            "watermark_position",
            "watermark_size",
            "watermark_rotate",
            "watermark_shadow",
        ),
    ),
    (
        "Output: format, quality, density",
        (
            "format",
            "quality",
            "dpr",
            "progressive",
            "chroma_subsampling",
            "dpi",
            "color_profile",
            "strip_metadata",
            "strip_color_profile",
            "keep_copyright",
        ),
    ),
)
OTHER = "Other"

LABELS = {
    "min-width": "Minimum width",
    "min-height": "Minimum height",
    "resizing_type": "Resizing",
    "resizing_algorithm": "Resampling algorithm",
    "enlarge": "Allow enlarging",
    "dpr": "Device pixel ratio",
    "crop": "Crop",
    "extend_aspect_ratio": "Extend to aspect ratio",
    "background_alpha": "Background opacity",
    "blur": "Blur (sigma)",
    "sharpen": "Sharpen",
    "pixelate": "Pixelate (block size)",
    "hue": "Hue rotation (degrees)",
    "adjust": "Adjust (brightness:saturation:color)",
    "colorize": "Colourize",
    "normalize": "Normalise",
    "chroma_subsampling": "Chroma subsampling",
    "dpi": "DPI",
    "color_profile": "Colour profile",
    "strip_metadata": "Strip metadata",
    "strip_color_profile": "Strip the colour profile",
    "keep_copyright": "Keep copyright fields",
    "watermark": "Watermark image",
    "watermark_url": "Watermark URL (base64)",
    "watermark_text": "Watermark text",
    "watermark_position": "Watermark position",
    "watermark_size": "Watermark size",
    "watermark_rotate": "Watermark rotation",
    "watermark_shadow": "Watermark shadow",
}
# Kinds whose syntax column only repeats the kind ("int"): the hint is the range alone.
_PLAIN_SYNTAX = {"int", "number", "enum", "bool", "gravity", "color"}
_WORD = re.compile(r"[\w:.-]+")

SIGNED_VALIDITY = ((3600, "1 hour"), (86400, "1 day"), (604800, "1 week"))


def label_of(name: str) -> str:
    return LABELS.get(name) or name.replace("_", " ").replace("-", " ").capitalize()


def hint_of(parameter: Parameter) -> str:
    also = f" Also written {', '.join(parameter.aliases)}." if parameter.aliases else ""
    if parameter.syntax in _PLAIN_SYNTAX:
        return f"{parameter.accepted[:1].upper()}{parameter.accepted[1:]}.{also}"
    return f"{parameter.syntax}: {parameter.accepted}.{also}"


def enum_words(parameter: Parameter) -> list[str]:
    """The canonical words of an enumeration, as the parser reads them: each word of its
    accepted-values sentence that it reads back as itself (a synonym such as ``fit`` or
    ``jpg`` reads as another word; ``format=auto`` reads as nothing, the empty choice)."""
    words = []
    for word in dict.fromkeys(_WORD.findall(parameter.accepted)):
        try:
            if parameter.read(word) == word:
                words.append(word)
        except TransformError:
            continue
    return words


class BoolCheckbox(forms.CheckboxInput):
    """A checkbox that hands the raw value to the parser (Django's reads "0" as checked)
    and is checked when the parser's boolean reading is true."""

    def __init__(self, attrs=None):
        super().__init__(attrs, check_test=lambda value: read_bool(str(value or "")) is True)

    def format_value(self, value):
        return "true"

    def value_from_datadict(self, data, files, name):
        return data.get(name, "")


def _field(parameter: Parameter) -> forms.Field:
    common = {"label": label_of(parameter.name), "required": False, "help_text": hint_of(parameter)}
    if parameter.kind == "bool":
        return forms.CharField(widget=BoolCheckbox(), **common)
    if parameter.kind in ("enum", "gravity", "bool|auto"):
        words = enum_words(parameter)
        if parameter.kind == "bool|auto":
            words = ["true", "false", *words]
        choices = [("", "Not set"), *((word, word) for word in words)]
        return forms.CharField(widget=forms.Select(choices=choices), **common)
    return forms.CharField(
        max_length=parameter.max_length,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        **common,
    )


def _selects_canonical(data, fields):
    """``data`` with each select's value in the word its choices show: a synonym the parser
    accepts (``resizing_type=fit``, ``format=jpg``, ``progressive=yes``, written by hand in
    the address) is applied either way, and would otherwise show as "Not set"."""
    data = data.copy()  # a QueryDict's copy is mutable
    for name, parameter in PARAMETERS.items():
        widget, raw = fields[name].widget, data.get(name)
        if not raw or not isinstance(widget, forms.Select):
            continue
        words = {value for value, _ in widget.choices}
        if raw in words:
            continue
        try:
            canonical = parameter.read(raw)
        except TransformError:
            continue  # refused: clean() says why
        if isinstance(canonical, bool):
            canonical = "true" if canonical else "false"
        if canonical in words:
            data[name] = canonical
    return data


class UrlBuilderForm(forms.Form):
    """The transformation of a CDN URL: a preset and one field per delivery parameter.

    After ``is_valid()`` (false when any value was refused), ``transform`` is the query the
    accepted fields make (without the preset) and ``query`` its canonical spelling; the
    refused fields carry the parser's sentence and are left out."""

    preset = forms.ChoiceField(
        label="Preset",
        required=False,
        choices=[("", "None"), *((name, f"@{name}") for name in PRESETS)],
        help_text="A named size; the fields below refine it.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, parameter in PARAMETERS.items():
            self.fields[name] = _field(parameter)
        self.transform = Transform({})
        self.query = ""
        if self.is_bound:
            self.data = _selects_canonical(self.data, self.fields)

    def clean(self):
        cleaned = super().clean()
        raw = {}
        for name, parameter in PARAMETERS.items():
            value = (cleaned.get(name) or "").strip()
            if not value or name in self.errors:
                continue
            try:
                parameter.read(value)
            except TransformError as error:
                self.add_error(name, error.message)
                continue
            raw[name] = value
        # The rules between parameters (one watermark source, modifiers need one) are the
        # parser's too: drop the field it names and ask again with the rest.
        while True:
            try:
                self.transform = delivery_parse(list(raw.items()))
                break
            except TransformError as error:
                name = error.parameter if error.parameter in raw else None
                if name is None:  # not one field's fault: apply none of them
                    self.add_error(None, error.message)
                    raw.clear()
                    continue
                self.add_error(name, error.message)
                raw.pop(name)
        self.query = canonical_query(self.transform, raw)
        return cleaned

    def problems(self) -> list[str]:
        return form_problems(self) if self.is_bound and not self.is_valid() else []

    def fieldsets(self) -> list[dict]:
        """The fields by group, each group open when it holds a value or an error."""
        grouped = {name for _, names in GROUPS for name in names}
        groups = [(legend, [n for n in names if n in PARAMETERS]) for legend, names in GROUPS]
        groups.append((OTHER, [name for name in PARAMETERS if name not in grouped]))
        return [
            {
                "legend": legend,
                "fields": [self[name] for name in names],
                "open": self.is_bound and any(self.data.get(name) for name in names),
            }
            for legend, names in groups
            if names
        ]

    @property
    def preset_name(self) -> str:
        return getattr(self, "cleaned_data", {}).get("preset", "")

    def suffix(self) -> str:
        """What follows the image id in the CDN URL: ``@preset`` and ``?query``; it is
        also the transformation as ``delivery_url_sign`` takes it (Imgwire's syntax)."""
        return (f"@{self.preset_name}" if self.preset_name else "") + (
            f"?{self.query}" if self.query else ""
        )

    def preview_query(self) -> str:
        """The same request for the dashboard's preview endpoint (``?preset=`` there)."""
        preset = f"preset={self.preset_name}" if self.preset_name else ""
        return "&".join(part for part in (preset, self.query) if part)


def canonical_query(transform: Transform, raw: dict[str, str]) -> str:
    """``transform`` as a URL query in delivery's canonical form (its names, order and
    spelling, ``Transform.canonical``), each value as the parser writes it; a value whose
    canonical spelling is not what a URL carries (``watermark_url`` is canonicalised to
    the decoded URL) keeps the spelling it was given."""
    pieces = []
    for name, value in transform.params.items():
        spelled = Transform({name: value}).canonical()
        pairs = parse_qsl(spelled, keep_blank_values=True)
        try:
            same = len(pairs) == 1 and PARAMETERS[name].read(pairs[0][1]) == value
        except TransformError:
            same = False
        pieces.append(spelled if same else urlencode({name: raw[name]}))
    return "&".join(pieces)


class SignedValidityForm(forms.Form):
    valid_for = forms.TypedChoiceField(
        label="Valid for",
        choices=[(str(seconds), label) for seconds, label in SIGNED_VALIDITY],
        coerce=int,
        initial=str(SIGNED_VALIDITY[0][0]),
    )
