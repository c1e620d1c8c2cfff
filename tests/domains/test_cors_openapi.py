"""Our OpenAPI document carries the reference's contract for the cors_origins paths."""

import pytest

from tests.openapi import reference
from tests.test_openapi import referenced_schemas, schema_of, shape

IMPLEMENTED = [
    ("/api/v1/cors_origins/", "get"),
    ("/api/v1/cors_origins/", "post"),
    ("/api/v1/cors_origins/{cors_origin_id}", "get"),
    ("/api/v1/cors_origins/{cors_origin_id}", "patch"),
    ("/api/v1/cors_origins/{cors_origin_id}", "delete"),
]


@pytest.fixture(scope="module")
def ours(django_db_blocker):
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/api/v1/openapi-server.json")
    assert response.status_code == 200
    return response.json()


def test_every_cors_origins_path_of_the_reference_is_implemented():
    reference_ops = {
        (path, method)
        for path, operations in reference()["paths"].items()
        if path.startswith("/api/v1/cors_origins")
        for method in operations
    }
    assert reference_ops == set(IMPLEMENTED)


@pytest.mark.parametrize(("path", "method"), IMPLEMENTED)
def test_every_cors_origins_operation_is_documented_with_the_reference_id(ours, path, method):
    theirs = reference()["paths"][path][method]
    assert ours["paths"][path][method]["operationId"] == theirs["operationId"]


@pytest.mark.parametrize(("path", "method"), IMPLEMENTED)
def test_cors_origin_schemas_match_the_reference_field_by_field(ours, path, method):
    ref_doc = reference()
    names = referenced_schemas(ref_doc["paths"][path][method])
    assert names <= set(ours["components"]["schemas"]), names
    for name in names:
        theirs = schema_of(ref_doc, name)
        mine = schema_of(ours, name)
        assert set(theirs["properties"]) <= set(mine["properties"]), name
        assert set(theirs.get("required", [])) <= set(mine.get("required", [])), name
        for field, spec in theirs["properties"].items():
            assert shape(mine["properties"][field], ours["components"]["schemas"]) == shape(
                spec, ref_doc["components"]["schemas"]
            ), f"{name}.{field}"


@pytest.mark.parametrize(("path", "method"), IMPLEMENTED)
def test_cors_origins_parameters_match_the_reference(ours, path, method):
    theirs = {p["name"]: p for p in reference()["paths"][path][method].get("parameters", [])}
    mine = {p["name"]: p for p in ours["paths"][path][method].get("parameters", [])}
    assert set(theirs) <= set(mine)
    for name, param in theirs.items():
        assert mine[name]["in"] == param["in"], name
        assert bool(mine[name].get("required")) == bool(param.get("required")), name


def test_the_list_documents_its_pagination_headers(ours):
    theirs = reference()["paths"]["/api/v1/cors_origins/"]["get"]["responses"]["200"]["headers"]
    mine = ours["paths"]["/api/v1/cors_origins/"]["get"]["responses"]["200"].get("headers", {})
    assert set(theirs) <= set(mine)
