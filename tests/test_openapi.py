"""Our OpenAPI document carries the reference's contract for the image paths."""

import pytest

from tests.openapi import reference

IMPLEMENTED = [
    ("/api/v1/images/", "get"),
    ("/api/v1/images/standard_upload", "post"),
    ("/api/v1/images/token", "post"),
    ("/api/v1/images/{image_id}", "get"),
    ("/api/v1/images/{image_id}", "delete"),
    ("/api/v1/images/bulk_delete", "post"),
    ("/api/v1/images/upload_via_url", "post"),
    ("/api/v1/images/downloads", "post"),
    ("/api/v1/images/downloads/{image_download_job_id}", "get"),
]


def test_every_image_path_of_the_reference_is_implemented():
    reference_ops = {
        (path, method)
        for path, operations in reference()["paths"].items()
        if path.startswith("/api/v1/images")
        for method in operations
    }
    assert reference_ops == set(IMPLEMENTED)


@pytest.fixture(scope="module")
def ours(django_db_blocker):
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/api/v1/openapi-server.json")
    assert response.status_code == 200
    return response.json()


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


@pytest.mark.parametrize(("path", "method"), IMPLEMENTED)
def test_every_implemented_image_operation_is_documented(ours, path, method):
    assert method in ours["paths"][path]
    assert (
        ours["paths"][path][method]["operationId"]
        == (reference()["paths"][path][method]["operationId"])
    )


@pytest.mark.parametrize(("path", "method"), IMPLEMENTED)
def test_schemas_match_the_reference_field_by_field(ours, path, method):
    ref_doc = reference()
    names = referenced_schemas(ref_doc["paths"][path][method])
    assert names <= set(ours["components"]["schemas"]), names
    for name in names:
        theirs = schema_of(ref_doc, name)
        mine = schema_of(ours, name)
        if "enum" in theirs:
            assert mine["enum"] == theirs["enum"], name
            continue
        assert set(theirs["properties"]) <= set(mine["properties"]), name
        assert set(theirs.get("required", [])) <= set(mine.get("required", [])), name
        for field, spec in theirs["properties"].items():
            assert shape(mine["properties"][field], ours["components"]["schemas"]) == shape(
                spec, ref_doc["components"]["schemas"]
            ), f"{name}.{field}"


def test_request_parameters_match_the_reference(ours):
    for path, method in IMPLEMENTED:
        theirs = {p["name"]: p for p in reference()["paths"][path][method].get("parameters", [])}
        mine = {p["name"]: p for p in ours["paths"][path][method].get("parameters", [])}
        assert set(theirs) <= set(mine), (path, method)
        for name, param in theirs.items():
            assert mine[name]["in"] == param["in"], (path, method, name)
            assert bool(mine[name].get("required")) == bool(param.get("required")), name
