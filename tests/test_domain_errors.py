"""The neutral refusal the services raise, and each protocol's table for it.

The services say what was refused (a code, the field, the limit, a sentence); the Resource
API and Uploadcare's Upload API each choose their own status and names from that alone.
"""

import pytest
from rest_framework.exceptions import APIException

from environments.models import Organization
from environments.quotas import check_organization_in_good_standing
from images.compat.uploadcare.errors import fetch_status_code, from_imgwire
from images.services.ingest import _check_request
from images.services.uploads import _extension_of
from imgwire_site import domain
from imgwire_site.api.errors import (
    PaymentRequiredError,
    RequestValidationError,
    ResourceNotFoundError,
    exception_handler,
)
from imgwire_site.domain import Refusal

# code -> (status, error_type): the Resource API's answers before the services were neutral.
RESOURCE_API = {
    domain.INVALID_VALUE: (422, "UnprocessableEntityError"),
    domain.REQUIRED: (422, "UnprocessableEntityError"),
    domain.FILE_TYPE_NOT_ACCEPTED: (422, "UnprocessableEntityError"),
    domain.TOO_LARGE: (413, "PayloadTooLargeError"),
    domain.QUOTA_EXCEEDED: (402, "PaymentRequiredError"),
    domain.ACCOUNT_INACTIVE: (402, "PaymentRequiredError"),
    domain.RATE_LIMITED: (429, "RateLimitedError"),
    domain.INVALID_TOKEN: (401, "InvalidTokenError"),
    domain.CONFLICT: (409, "ConflictError"),
    domain.NOT_FOUND: (404, "ResourceNotFoundError"),
    domain.FORBIDDEN: (403, "ResourceNotAuthorizedError"),
    domain.SIGNATURE_INVALID: (403, "InvalidSignatureError"),
    domain.SIGNATURE_EXPIRED: (403, "ExpiredSignatureError"),
    domain.CONTENT_TYPE_MISMATCH: (415, "ContentTypeMismatchError"),
    domain.LENGTH_REQUIRED: (411, "LengthRequiredError"),
    domain.LENGTH_OVER_DECLARED: (413, "ContentLengthMismatchError"),
    domain.LENGTH_UNDER_DECLARED: (400, "ContentLengthMismatchError"),
    domain.EMPTY: (400, "EmptyUploadError"),
    domain.UPLOAD_INTERRUPTED: (400, "UploadInterruptedError"),
    domain.HASH_MISMATCH: (422, "HashMismatchError"),
    domain.NOT_AN_IMAGE: (422, "NotAnImageError"),
    domain.FETCH_FAILED: (422, "FetchFailedError"),
}

# code -> (status, error_code) of Uploadcare's Upload API, for a refusal naming no field.
UPLOADCARE = {
    domain.TOO_LARGE: (400, "FileSizeLimitExceededError"),
    domain.LENGTH_OVER_DECLARED: (400, "FileSizeLimitExceededError"),
    domain.RATE_LIMITED: (429, "RequestThrottledError"),
    domain.QUOTA_EXCEEDED: (403, "UploadFailedError"),
    domain.ACCOUNT_INACTIVE: (403, "UploadFailedError"),
}


def test_the_resource_api_table_of_this_test_covers_every_code():
    assert set(RESOURCE_API) == domain.CODES


@pytest.mark.parametrize(("code", "answer"), sorted(RESOURCE_API.items()))
def test_the_resource_api_answers_each_code_with_its_status_and_error_type(code, answer):
    response = exception_handler(Refusal(code, "A sentence for a person."), {})

    assert (response.status_code, response.data["error_type"]) == answer
    assert response.data["detail"] == "A sentence for a person."


@pytest.mark.parametrize(
    ("code", "field", "type_"),
    [
        (domain.INVALID_VALUE, "file_name", "value_error"),
        (domain.FILE_TYPE_NOT_ACCEPTED, "file_name", "value_error"),
        (domain.FILE_TYPE_NOT_ACCEPTED, "mime_type", "enum"),
        (domain.TOO_LARGE, "content_length", "less_than_equal"),
        (domain.REQUIRED, "content_length", "missing"),
    ],
)
def test_a_refusal_naming_a_field_is_a_422_entry_at_that_field_of_the_body(code, field, type_):
    response = exception_handler(Refusal(code, "Why.", field=field, limit=5), {})

    assert response.status_code == 422
    assert response.data == {"detail": [{"loc": ["body", field], "msg": "Why.", "type": type_}]}


def test_a_failed_fetch_answers_the_fetchers_own_failure_kind_as_its_error_type():
    refusal = Refusal(domain.FETCH_FAILED, "Blocked.", reason="BlockedAddressError")

    response = exception_handler(refusal, {})

    assert (response.status_code, response.data["error_type"]) == (422, "BlockedAddressError")


def test_retry_after_travels_to_both_protocols():
    refusal = Refusal(domain.RATE_LIMITED, "Later.", headers={"Retry-After": "60"})

    assert exception_handler(refusal, {})["Retry-After"] == "60"
    assert from_imgwire(refusal).headers == {"Retry-After": "60"}


@pytest.mark.parametrize("code", sorted(domain.CODES))
def test_uploadcare_answers_each_code_by_its_table_and_upload_failed_otherwise(code):
    error = from_imgwire(Refusal(code, "A sentence."))

    assert (error.status, error.code) == UPLOADCARE.get(code, (403, "UploadFailedError"))
    assert error.content == "A sentence."


@pytest.mark.parametrize(
    ("field", "error_code"),
    [
        ("file_name", "FileTypeForbiddenError"),
        ("mime_type", "FileTypeForbiddenError"),
        ("content_length", "FileSizeLimitExceededError"),
        ("custom_metadata", "BaseViewsError"),
        ("image_ids", "BaseViewsError"),
    ],
)
def test_uploadcare_answers_a_field_refusal_by_the_field_it_names(field, error_code):
    error = from_imgwire(Refusal(domain.INVALID_VALUE, "Bad.", field=field))

    assert error.code == error_code


@pytest.mark.parametrize(
    ("refusal", "error_code"),
    [
        (Refusal(domain.NOT_AN_IMAGE, "No."), "DownloadFileValidationFailedError"),
        (
            Refusal(domain.FETCH_FAILED, "No.", reason="BlockedAddressError"),
            "URLHostPrivateIPForbiddenError",
        ),
        (
            Refusal(domain.FETCH_FAILED, "No.", reason="TooSlowError"),
            "DownloadFileTimeLimitExceededError",
        ),
        (Refusal(domain.FETCH_FAILED, "No."), "DownloadFileError"),
        (Refusal(domain.QUOTA_EXCEEDED, "No."), "UploadFailedError"),
        (Refusal(domain.CONFLICT, "No."), "DownloadFileError"),
    ],
)
def test_a_failed_from_url_job_reports_the_uploadcare_code_of_its_refusal(refusal, error_code):
    assert fetch_status_code(refusal) == error_code


def test_an_unknown_code_is_a_programming_error_not_a_refusal():
    with pytest.raises(ValueError, match="Unknown refusal code"):
        Refusal("payment_required", "No.")


def test_a_refusal_keeps_its_field_and_limit_for_every_edge():
    refusal = Refusal(domain.TOO_LARGE, "Too big.", field="content_length", limit=10)

    assert (refusal.code, refusal.field, refusal.limit, str(refusal)) == (
        domain.TOO_LARGE,
        "content_length",
        10,
        "Too big.",
    )


# --- the services raise it ----------------------------------------------------------------


def test_a_file_name_without_extension_is_refused_as_an_invalid_file_name():
    with pytest.raises(Refusal) as refused:
        _extension_of("photo")

    assert (refused.value.code, refused.value.field) == (domain.INVALID_VALUE, "file_name")


def test_a_bad_upload_url_signature_is_refused_neutrally():
    with pytest.raises(Refusal) as refused:
        _check_request(None, "image/png", "10")

    assert refused.value.code == domain.SIGNATURE_INVALID


def test_a_blocked_organization_is_refused_as_inactive():
    with pytest.raises(Refusal) as refused:
        check_organization_in_good_standing(Organization(name="x", blocked=True))

    assert refused.value.code == domain.ACCOUNT_INACTIVE


# --- callers still written against the Resource API's classes -------------------------------


def test_a_plan_refusal_is_still_caught_as_payment_required_with_its_detail():
    try:
        raise Refusal(domain.QUOTA_EXCEEDED, "Upgrade the plan.")
    except PaymentRequiredError as error:  # what the dashboard's banners catch
        assert error.detail == "Upgrade the plan."
        assert error.error_type == "PaymentRequiredError"


def test_a_field_refusal_is_still_caught_as_a_validation_error_with_its_list():
    try:
        raise Refusal(domain.INVALID_VALUE, "Bad name.", field="file_name")
    except RequestValidationError as error:
        assert error.errors == [
            {"loc": ["body", "file_name"], "msg": "Bad name.", "type": "value_error"}
        ]


def test_a_refusal_without_a_field_has_no_validation_list_for_the_dashboard_to_misread():
    refusal = Refusal(domain.NOT_FOUND, "Gone.")

    assert isinstance(refusal, ResourceNotFoundError)
    assert isinstance(refusal, APIException)  # what the dashboard's bulk actions catch
    assert getattr(refusal, "errors", None) is None
    assert str(refusal.detail) == "Gone."
