"""The Resource API error shapes.

Validation problems answer 422 with ``{"detail": [{"loc", "msg", "type"}]}``; domain errors
answer ``{"detail": "<sentence>", "error_type": "<Name>"}``. The services raise the neutral
``imgwire_site.domain.Refusal``; ``refusal_answer`` below is this protocol's table for it.
"""

from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from imgwire_site import domain
from imgwire_site.domain import Refusal


class DomainError(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    error_type = "BadRequestError"
    default_detail = "The request cannot be processed."

    def __init__(self, detail: str | None = None, *, headers: dict | None = None):
        super().__init__(detail or self.default_detail)
        self.headers = headers or {}


class InvalidTokenError(DomainError):
    status_code = status.HTTP_401_UNAUTHORIZED
    error_type = "InvalidTokenError"
    default_detail = "Send a valid API key as 'Authorization: Bearer <key>'."


class ResourceNotAuthorizedError(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    error_type = "ResourceNotAuthorizedError"
    default_detail = "You are not allowed to access this resource."


class OperationNotAllowedError(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    error_type = "OperationNotAllowedError"
    default_detail = "This credential may not perform this operation."


class ResourceNotFoundError(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    error_type = "ResourceNotFoundError"
    default_detail = "Not found."


class PaymentRequiredError(DomainError):
    status_code = status.HTTP_402_PAYMENT_REQUIRED
    error_type = "PaymentRequiredError"


class ConflictError(DomainError):
    status_code = status.HTTP_409_CONFLICT
    error_type = "ConflictError"


class PayloadTooLargeError(DomainError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    error_type = "PayloadTooLargeError"


class RateLimitedError(DomainError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    error_type = "RateLimitedError"


class UnprocessableError(DomainError):
    """A 422 that is about the request as a whole rather than one field."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    error_type = "UnprocessableEntityError"

    def __init__(self, detail: str | None = None, *, error_type: str | None = None):
        super().__init__(detail)
        if error_type:
            self.error_type = error_type


class RequestValidationError(exceptions.APIException):
    """422 with an explicit list of ``{loc, msg, type}`` entries."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY

    def __init__(self, errors: list[dict]):
        super().__init__("validation error")
        self.errors = errors


def field_error(loc: list, msg: str, type_: str = "value_error") -> RequestValidationError:
    return RequestValidationError([{"loc": loc, "msg": msg, "type": type_}])


# DRF's error codes, translated to the pydantic-style types the reference clients expect.
_CODE_TO_TYPE = {
    "required": "missing",
    "null": "missing",
    "blank": "string_too_short",
    "min_length": "string_too_short",
    "max_length": "string_too_long",
    "invalid": "value_error",
    "invalid_choice": "enum",
    "min_value": "greater_than_equal",
    "max_value": "less_than_equal",
    "not_a_list": "list_type",
    "empty": "too_short",
    "not_a_dict": "dict_type",
    "parse_error": "json_invalid",
}


# --- the neutral Refusal at this edge ------------------------------------------------------

# code -> (status, error_type) of a refusal that names no field.
REFUSAL_ANSWERS = {
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
    domain.FETCH_FAILED: (422, "FetchFailedError"),  # the fetcher's reason names it better
}

# code -> the ``type`` of the 422 entry of a refusal that names a field of the body;
# (code, field) entries refine it where the reference clients expect another type.
FIELD_TYPES = {
    domain.INVALID_VALUE: "value_error",
    domain.REQUIRED: "missing",
    domain.FILE_TYPE_NOT_ACCEPTED: "value_error",
    domain.TOO_LARGE: "less_than_equal",
    (domain.FILE_TYPE_NOT_ACCEPTED, "mime_type"): "enum",  # outside the key's allowed list
}


def refusal_answer(refusal: Refusal) -> tuple[int, dict, dict]:
    """(status, body, headers) of a Refusal in this protocol's shapes."""
    if refusal.field is not None:
        type_ = FIELD_TYPES.get((refusal.code, refusal.field)) or FIELD_TYPES.get(
            refusal.code, "value_error"
        )
        entry = {"loc": ["body", refusal.field], "msg": refusal.message, "type": type_}
        return 422, {"detail": [entry]}, dict(refusal.headers)
    status_code, error_type = REFUSAL_ANSWERS[refusal.code]
    if refusal.code == domain.FETCH_FAILED and refusal.reason:
        error_type = refusal.reason  # the fetcher's failure kinds are this API's error_types
    return status_code, {"detail": refusal.message, "error_type": error_type}, dict(refusal.headers)


def _legacy_class(code: str, field: str | None) -> type | None:
    """Which of this module's classes a Refusal also is, so that code still catching them
    (``except PaymentRequiredError``) keeps working; see Refusal._legacy_class."""
    if field is not None:
        return _LegacyFieldRefusal
    return _LEGACY_BY_CODE.get(code)


class _LegacyMixin:
    """What callers of the old classes read (the dashboard shows ``detail``)."""

    @property
    def detail(self):
        return self.message


class _LegacyFieldMixin(_LegacyMixin):
    @property
    def errors(self) -> list[dict]:  # RequestValidationError's list, for its readers
        return refusal_answer(self)[1]["detail"]


def _legacy(base: type, mixin: type = _LegacyMixin) -> type:
    return type(f"Legacy{base.__name__}", (mixin, Refusal, base), {})


def flatten_validation_errors(detail, loc: list) -> list[dict]:
    """Turn DRF's nested error dict/list into a flat list of ``{loc, msg, type}``."""
    errors: list[dict] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            sub = loc if key == "non_field_errors" else [*loc, key]
            errors.extend(flatten_validation_errors(value, sub))
    elif isinstance(detail, list):
        if all(isinstance(item, exceptions.ErrorDetail) for item in detail):
            for item in detail:
                errors.extend(flatten_validation_errors(item, loc))
        else:
            for index, item in enumerate(detail):
                if item:
                    errors.extend(flatten_validation_errors(item, [*loc, index]))
    else:
        code = getattr(detail, "code", "invalid")
        errors.append({"loc": loc, "msg": str(detail), "type": _CODE_TO_TYPE.get(code, code)})
    return errors


def too_large_detail() -> str:
    from django.conf import settings

    return (
        f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes, the "
        "most this endpoint reads."
    )


def _domain(exc, message: str, headers: dict | None = None) -> Response:
    """``exc`` is a DomainError class or instance (an instance may carry its own type)."""
    return Response(
        {"detail": message, "error_type": exc.error_type},
        status=exc.status_code,
        headers=headers,
    )


def exception_handler(exc, context):
    # Imported here: this module is loaded while DRF's settings are still being imported.
    from rest_framework.views import set_rollback

    set_rollback()
    if isinstance(exc, Refusal):
        status_code, body, headers = refusal_answer(exc)
        return Response(body, status=status_code, headers=headers or None)
    if isinstance(exc, RequestValidationError):
        return Response({"detail": exc.errors}, status=422)
    if isinstance(exc, DomainError):
        return _domain(exc, str(exc.detail), exc.headers)
    if isinstance(exc, exceptions.ParseError):
        return Response(
            {
                "detail": [
                    {
                        "loc": ["body"],
                        "msg": f"The request body is not valid JSON: {exc.detail}",
                        "type": "json_invalid",
                    }
                ]
            },
            status=422,
        )
    if isinstance(exc, exceptions.ValidationError):
        return Response({"detail": flatten_validation_errors(exc.detail, ["body"])}, status=422)
    if isinstance(exc, exceptions.AuthenticationFailed | exceptions.NotAuthenticated):
        return _domain(InvalidTokenError, str(exc.detail), {"WWW-Authenticate": "Bearer"})
    if isinstance(exc, exceptions.PermissionDenied | PermissionDenied):
        return _domain(OperationNotAllowedError, str(getattr(exc, "detail", exc)))
    if isinstance(exc, exceptions.NotFound | Http404):
        return _domain(ResourceNotFoundError, "Not found.")
    if isinstance(exc, exceptions.MethodNotAllowed):
        return Response(
            {"detail": str(exc.detail), "error_type": "MethodNotAllowedError"}, status=405
        )
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return Response(
            {
                "detail": [
                    {
                        "loc": ["header", "Content-Type"],
                        "msg": "Send the body as JSON with 'Content-Type: application/json'.",
                        "type": "unsupported_media_type",
                    }
                ]
            },
            status=422,
        )
    if isinstance(exc, exceptions.Throttled):
        return _domain(RateLimitedError, str(exc.detail), {"Retry-After": str(int(exc.wait or 1))})
    if isinstance(exc, RequestDataTooBig):  # request.data read a body over the memory limit
        return _domain(PayloadTooLargeError, too_large_detail())
    if isinstance(exc, SuspiciousOperation | BadRequest):  # e.g. too many query parameters
        return _domain(DomainError, f"The request cannot be processed: {exc}")
    if isinstance(exc, exceptions.APIException):
        return Response(
            {"detail": str(exc.detail), "error_type": type(exc).__name__},
            status=exc.status_code,
        )
    return None


_LegacyFieldRefusal = _legacy(RequestValidationError, _LegacyFieldMixin)
_LEGACY_CLASSES = {}  # one class per old class, whatever the number of codes it stands for
_LEGACY_BY_CODE = {
    code: _LEGACY_CLASSES.setdefault(cls, _legacy(cls))
    for code, cls in {
        domain.TOO_LARGE: PayloadTooLargeError,
        domain.QUOTA_EXCEEDED: PaymentRequiredError,
        domain.ACCOUNT_INACTIVE: PaymentRequiredError,
        domain.RATE_LIMITED: RateLimitedError,
        domain.INVALID_TOKEN: InvalidTokenError,
        domain.CONFLICT: ConflictError,
        domain.NOT_FOUND: ResourceNotFoundError,
        domain.FORBIDDEN: ResourceNotAuthorizedError,
        domain.NOT_AN_IMAGE: UnprocessableError,
        domain.FETCH_FAILED: UnprocessableError,
    }.items()
}
Refusal._legacy_class = _legacy_class
