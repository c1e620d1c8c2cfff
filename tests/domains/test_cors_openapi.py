"""Our OpenAPI document carries the reference's contract for the cors_origins paths."""

import pytest

from tests.openapi import (
    assert_parameters_match,
    assert_schemas_match,
    reference,
    reference_operations,
)

IMPLEMENTED = [
    ("/api/v1/cors_origins/", "get"),
    ("/api/v1/cors_origins/", "post"),
    ("/api/v1/cors_origins/{cors_origin_id}", "get"),
    ("/api/v1/cors_origins/{cors_origin_id}", "patch"),
    ("/api/v1/cors_origins/{cors_origin_id}", "delete"),
]


def test_every_cors_origins_path_of_the_reference_is_implemented():
    assert reference_operations("/api/v1/cors_origins") == set(IMPLEMENTED)


@pytest.mark.parametrize(("path", "method"), IMPLEMENTED)
def test_every_cors_origins_operation_is_documented_with_the_reference_id(ours, path, method):
    theirs = reference()["paths"][path][method]
    assert ours["paths"][path][method]["operationId"] == theirs["operationId"]


@pytest.mark.parametrize(("path", "method"), IMPLEMENTED)
def test_cors_origin_schemas_match_the_reference_field_by_field(ours, path, method):
    assert_schemas_match(ours, path, method)


@pytest.mark.parametrize(("path", "method"), IMPLEMENTED)
def test_cors_origins_parameters_match_the_reference(ours, path, method):
    assert_parameters_match(ours, path, method)


def test_the_list_documents_its_pagination_headers(ours):
    theirs = reference()["paths"]["/api/v1/cors_origins/"]["get"]["responses"]["200"]["headers"]
    mine = ours["paths"]["/api/v1/cors_origins/"]["get"]["responses"]["200"].get("headers", {})
    assert set(theirs) <= set(mine)
