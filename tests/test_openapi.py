"""Our OpenAPI document carries the reference's contract for the image paths, and, for
every operation we serve, the reference's statuses and constraints and what we add."""

import re

import pytest

from tests.openapi import (
    assert_constraints_preserved,
    assert_parameters_match,
    assert_reference_statuses_documented,
    assert_schemas_match,
    names_reachable,
    reference,
    reference_operations,
    served_reference_operations,
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


SERVED = [
    *IMPLEMENTED,
    ("/api/v1/cors_origins/", "get"),
    ("/api/v1/cors_origins/", "post"),
    ("/api/v1/cors_origins/{cors_origin_id}", "get"),
    ("/api/v1/cors_origins/{cors_origin_id}", "patch"),
    ("/api/v1/cors_origins/{cors_origin_id}", "delete"),
    ("/api/v1/custom_domain/", "get"),
    ("/api/v1/custom_domain/", "post"),
    ("/api/v1/custom_domain/", "delete"),
    ("/api/v1/custom_domain/test_connection", "post"),
    ("/api/v1/metrics/datasets", "get"),
    ("/api/v1/metrics/stats", "get"),
]


def test_the_checks_below_cover_every_reference_operation_we_serve(ours):
    assert served_reference_operations(ours) == sorted(SERVED)


@pytest.mark.parametrize(("path", "method"), SERVED)
def test_every_status_of_the_reference_is_documented_with_its_body(ours, path, method):
    assert_reference_statuses_documented(ours, path, method)


@pytest.mark.parametrize(("path", "method"), SERVED)
def test_the_reference_bounds_formats_and_defaults_are_preserved(ours, path, method):
    assert_constraints_preserved(ours, path, method)


@pytest.mark.parametrize(("path", "method"), SERVED)
def test_every_operation_documents_its_refusals_with_a_json_body(ours, path, method):
    responses = ours["paths"][path][method]["responses"]
    assert {"401", "403", "422"} <= set(responses)
    for status, response in responses.items():
        schema = response["content"]["application/json"]["schema"]
        if status == "422":
            assert "HTTPValidationError" in names_reachable(schema, ours["components"]["schemas"])
        elif status != "200":
            assert schema == {"$ref": "#/components/schemas/ErrorSchema"}, status
            # It names the error_type first, as "ResourceNotFoundError: …".
            assert re.match(r"[A-Z][A-Za-z]+: ", response["description"]), status


# What each operation can answer besides 200, 400, 401, 403, 406 and 422 (from its code).
EXTRA_STATUSES = {
    ("/api/v1/images/", "get"): set(),
    ("/api/v1/images/standard_upload", "post"): {"402", "409", "413", "429"},
    ("/api/v1/images/token", "post"): set(),
    ("/api/v1/images/{image_id}", "get"): {"404"},
    ("/api/v1/images/{image_id}", "delete"): {"404"},
    ("/api/v1/images/bulk_delete", "post"): {"404", "413"},
    ("/api/v1/images/upload_via_url", "post"): {"402", "409", "413"},
    ("/api/v1/images/downloads", "post"): {"402", "404", "413"},
    ("/api/v1/images/downloads/{image_download_job_id}", "get"): {"404"},
    ("/api/v1/cors_origins/", "get"): set(),
    ("/api/v1/cors_origins/", "post"): {"409", "413"},
    ("/api/v1/cors_origins/{cors_origin_id}", "get"): {"404"},
    ("/api/v1/cors_origins/{cors_origin_id}", "patch"): {"404", "409", "413"},
    ("/api/v1/cors_origins/{cors_origin_id}", "delete"): {"404"},
    ("/api/v1/custom_domain/", "get"): {"404"},
    ("/api/v1/custom_domain/", "post"): {"402", "409", "413"},
    ("/api/v1/custom_domain/", "delete"): {"404"},
    ("/api/v1/custom_domain/test_connection", "post"): {"404"},
    ("/api/v1/metrics/datasets", "get"): set(),
    ("/api/v1/metrics/stats", "get"): set(),
}


@pytest.mark.parametrize(("path", "method"), SERVED)
def test_each_operation_documents_exactly_the_statuses_its_code_answers(ours, path, method):
    documented = set(ours["paths"][path][method]["responses"])
    assert documented == {"200", "400", "401", "403", "406", "422"} | EXTRA_STATUSES[(path, method)]


def test_a_rate_limited_upload_documents_retry_after(ours):
    response = ours["paths"]["/api/v1/images/standard_upload"]["post"]["responses"]["429"]
    assert response["headers"]["Retry-After"]["schema"]["pattern"] == "^[0-9]+$"


def test_upload_via_url_documents_its_fetch_failures_as_a_second_422_shape(ours):
    response = ours["paths"]["/api/v1/images/upload_via_url"]["post"]["responses"]["422"]
    name = response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert ours["components"]["schemas"][name] == {
        "oneOf": [
            {"$ref": "#/components/schemas/HTTPValidationError"},
            {"$ref": "#/components/schemas/ErrorSchema"},
        ]
    }
    assert "BlockedAddressError" in response["description"]


def test_the_validation_error_components_keep_the_reference_fields(ours):
    for name in ("HTTPValidationError", "ValidationError"):
        theirs = reference()["components"]["schemas"][name]
        mine = ours["components"]["schemas"][name]
        assert set(theirs["properties"]) == set(mine["properties"]), name
        assert set(theirs.get("required", [])) <= set(mine.get("required", [])), name


@pytest.mark.parametrize(
    ("path", "method", "name"),
    [
        ("/api/v1/images/{image_id}", "get", "image_id"),
        ("/api/v1/images/{image_id}", "delete", "image_id"),
        ("/api/v1/images/downloads/{image_download_job_id}", "get", "image_download_job_id"),
        ("/api/v1/cors_origins/{cors_origin_id}", "get", "cors_origin_id"),
        ("/api/v1/cors_origins/{cors_origin_id}", "patch", "cors_origin_id"),
        ("/api/v1/cors_origins/{cors_origin_id}", "delete", "cors_origin_id"),
    ],
)
def test_path_ids_are_documented_as_uuids(ours, path, method, name):
    (param,) = [p for p in ours["paths"][path][method]["parameters"] if p["name"] == name]
    assert param["schema"] == {"type": "string", "format": "uuid"}
    assert param["required"] is True


def test_the_rules_we_enforce_beyond_the_reference_are_documented(ours):
    schemas = ours["components"]["schemas"]
    upload = schemas["StandardUploadCreateSchema"]["properties"]
    assert upload["hash_sha256"]["pattern"] == "^[0-9a-fA-F]{64}$"
    assert upload["file_name"]["pattern"].startswith("^") and "extension" in str(upload)
    assert schemas["UploadViaUrlCreateSchema"]["properties"]["url"]["format"] == "uri"
    assert "pattern" in schemas["CustomDomainCreateSchema"]["properties"]["hostname"]
    for name in ("CorsOriginCreateSchema", "CorsOriginUpdateSchema"):
        assert "pattern" in schemas[name]["properties"]["pattern"]
    for path in ("/api/v1/metrics/datasets", "/api/v1/metrics/stats"):
        operation = ours["paths"][path]["get"]
        params = {p["name"]: p for p in operation["parameters"]}
        assert "later than date_start" in params["date_end"]["description"]
        assert "date_end not later than date_start" in operation["responses"]["422"]["description"]


@pytest.mark.parametrize(("path", "method"), SERVED)
def test_the_sdk_generation_hints_of_the_reference_are_kept(ours, path, method):
    def hints(operation):
        return {k: v for k, v in operation.items() if k.startswith("x-codegen-")}

    theirs = hints(reference()["paths"][path][method])
    assert theirs and hints(ours["paths"][path][method]) == theirs
