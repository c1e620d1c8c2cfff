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
