"""The reference OpenAPI document, and checking our responses against it."""

import json
from functools import cache
from pathlib import Path

import jsonschema

REFERENCE = Path(__file__).resolve().parent / "contract" / "imgwire-openapi.json"


@cache
def reference() -> dict:
    return json.loads(REFERENCE.read_text())


def assert_matches(instance, schema_name: str, many: bool = False) -> None:
    """Validate a response body the way a generated SDK would: strictly, by the reference."""
    target = {"$ref": f"#/components/schemas/{schema_name}"}
    if many:
        target = {"type": "array", "items": target}
    schema = {**target, "components": reference()["components"]}
    jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(instance)


# --- comparing our generated document with the reference --------------------------------


def _resolve_name(node: dict) -> str | None:
    ref = node.get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


def shape(node: dict, components: dict) -> tuple:
    """(type or component name, nullable, enum values) in a form both documents share."""
    nullable = bool(node.get("nullable"))
    options = node.get("anyOf") or node.get("oneOf")
    if options:
        kept = []
        for option in options:
            name = _resolve_name(option)
            if option.get("type") == "null" or name == "NullEnum":
                nullable = True
            else:
                kept.append(option)
        if len(kept) == 1:
            inner = shape(kept[0], components)
            return inner[0], True if nullable else inner[1], inner[2]
        return tuple(sorted(str(shape(k, components)) for k in kept)), nullable, None
    name = _resolve_name(node)
    if name:
        target = components[name]
        return name, nullable, tuple(target.get("enum", ())) or None
    kind = node.get("type")
    if isinstance(kind, list):
        nullable = nullable or "null" in kind
        kind = next(k for k in kind if k != "null")
    return kind, nullable, tuple(node["enum"]) if "enum" in node else None


def schema_of(document: dict, name: str) -> dict:
    return document["components"]["schemas"][name]


def referenced_schemas(operation: dict) -> set[str]:
    found = set()

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                found.add(node["$ref"].rsplit("/", 1)[-1])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk({k: v for k, v in operation.items() if k in ("requestBody", "responses")})
    return found - {"HTTPValidationError", "ValidationError"}


def reference_operations(prefix: str) -> set[tuple[str, str]]:
    """Every (path, method) of the reference under ``prefix``."""
    return {
        (path, method)
        for path, operations in reference()["paths"].items()
        if path.startswith(prefix)
        for method in operations
    }


def assert_parameters_match(ours: dict, path: str, method: str) -> None:
    theirs = {p["name"]: p for p in reference()["paths"][path][method].get("parameters", [])}
    mine = {p["name"]: p for p in ours["paths"][path][method].get("parameters", [])}
    assert set(theirs) <= set(mine), (path, method)
    for name, param in theirs.items():
        assert mine[name]["in"] == param["in"], (path, method, name)
        assert bool(mine[name].get("required")) == bool(param.get("required")), name


def assert_schemas_match(ours: dict, path: str, method: str, *, nested: bool = False) -> None:
    """Every schema the reference operation uses exists in ours with the same names, fields,
    required flags, types and enums (``nested`` also follows array item references)."""
    ref_doc = reference()
    pending = referenced_schemas(ref_doc["paths"][path][method])
    assert pending <= set(ours["components"]["schemas"]), pending
    while pending:
        name = pending.pop()
        theirs, mine = schema_of(ref_doc, name), schema_of(ours, name)
        if "enum" in theirs:
            assert mine["enum"] == theirs["enum"], name
            continue
        assert set(theirs["properties"]) <= set(mine["properties"]), name
        assert set(theirs.get("required", [])) <= set(mine.get("required", [])), name
        for field, spec in theirs["properties"].items():
            assert shape(mine["properties"][field], ours["components"]["schemas"]) == shape(
                spec, ref_doc["components"]["schemas"]
            ), f"{name}.{field}"
            item = spec.get("items", spec).get("$ref")
            if nested and item:
                pending.add(item.rsplit("/", 1)[-1])


# --- statuses and constraints ------------------------------------------------------------

CONSTRAINTS = (
    "format",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "uniqueItems",
    "default",
)


def _without_null(node: dict) -> dict:
    """The non-null branch of ``anyOf``/``oneOf`` [X, null] (or ``type: [X, "null"]``)."""
    options = node.get("anyOf") or node.get("oneOf")
    if options:
        kept = [
            option
            for option in options
            if option.get("type") != "null" and _resolve_name(option) != "NullEnum"
        ]
        if len(kept) == 1:
            return {**{k: v for k, v in node.items() if k not in ("anyOf", "oneOf")}, **kept[0]}
    return node


def constraints(node: dict, where: str = "") -> dict:
    """Every validation keyword of a schema (and of its array items), keyed by location."""
    node = _without_null(node)
    found = {f"{where}{key}": node[key] for key in CONSTRAINTS if key in node}
    if isinstance(node.get("items"), dict):
        found.update(constraints(node["items"], f"{where}items."))
    return found


def assert_constraints_preserved(ours: dict, path: str, method: str) -> None:
    """Every bound, format and pattern of the reference's parameters and body fields is in
    ours with the same value (ours may add more)."""
    theirs_op, mine_op = reference()["paths"][path][method], ours["paths"][path][method]
    mine_params = {(p["name"], p["in"]): p for p in mine_op.get("parameters", [])}
    for param in theirs_op.get("parameters", []):
        mine = mine_params[(param["name"], param["in"])]
        expected = constraints(param["schema"])
        actual = constraints(mine["schema"])
        assert {k: actual.get(k) for k in expected} == expected, (path, method, param["name"])
    ref_doc = reference()
    for name in referenced_schemas(theirs_op):
        theirs = schema_of(ref_doc, name)
        for field, spec in theirs.get("properties", {}).items():
            expected = constraints(spec)
            actual = constraints(schema_of(ours, name)["properties"][field])
            assert {k: actual.get(k) for k in expected} == expected, f"{name}.{field}"


def names_reachable(node, components: dict, seen: set[str] | None = None) -> set[str]:
    seen = set() if seen is None else seen
    if isinstance(node, dict):
        name = _resolve_name(node)
        if name and name not in seen:
            seen.add(name)
            names_reachable(components[name], components, seen)
        for value in node.values():
            names_reachable(value, components, seen)
    elif isinstance(node, list):
        for value in node:
            names_reachable(value, components, seen)
    return seen


def assert_reference_statuses_documented(ours: dict, path: str, method: str) -> None:
    """Every status of the reference operation is in ours, and its body can still be what
    the reference says (ours may offer alternatives, like ``oneOf``)."""
    theirs = reference()["paths"][path][method]["responses"]
    mine = ours["paths"][path][method]["responses"]
    assert set(theirs) <= set(mine), (path, method, sorted(theirs), sorted(mine))
    for status, response in theirs.items():
        for media, content in response.get("content", {}).items():
            wanted = names_reachable(content["schema"], reference()["components"]["schemas"])
            offered = names_reachable(
                mine[status]["content"][media]["schema"], ours["components"]["schemas"]
            )
            assert wanted <= offered, (path, method, status, wanted - offered)


def served_reference_operations(ours: dict) -> list[tuple[str, str]]:
    """The (path, method) pairs our document serves that the reference also has."""
    return sorted(
        (path, method)
        for path, operations in ours["paths"].items()
        for method in operations
        if method in reference()["paths"].get(path, {})
    )
