"""Our OpenAPI document carries the reference's contract for the image paths."""

import pytest

from tests.openapi import (
    assert_parameters_match,
    assert_schemas_match,
    reference,
    reference_operations,
)

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
    assert reference_operations("/api/v1/images") == set(IMPLEMENTED)


@pytest.mark.parametrize(("path", "method"), IMPLEMENTED)
def test_every_implemented_image_operation_is_documented(ours, path, method):
    assert method in ours["paths"][path]
    assert (
        ours["paths"][path][method]["operationId"]
        == (reference()["paths"][path][method]["operationId"])
    )


@pytest.mark.parametrize(("path", "method"), IMPLEMENTED)
def test_schemas_match_the_reference_field_by_field(ours, path, method):
    assert_schemas_match(ours, path, method)


def test_request_parameters_match_the_reference(ours):
    for path, method in IMPLEMENTED:
        assert_parameters_match(ours, path, method)
