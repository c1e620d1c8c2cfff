"""The reference OpenAPI document, and checking our responses against it."""

import json
from functools import cache
from pathlib import Path

import jsonschema

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "imgwire-openapi.json"


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
