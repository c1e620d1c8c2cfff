"""What the OpenAPI document says every operation can answer, besides its 200.

The reference documents 200 and 422 only; generated clients and fuzzers also need the
refusals we really send, each with its body. Validation problems keep the reference's
``HTTPValidationError``; every other refusal is ``ErrorSchema`` (``{"detail",
"error_type"}``, see imgwire_site/api/errors.py). ``answers()`` builds an operation's
``responses`` from the statuses its code can produce.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers


@extend_schema_field({"anyOf": [{"type": "string"}, {"type": "integer"}]})
class _LocationPart(serializers.Field):
    def to_representation(self, value):
        return value


@extend_schema_serializer(component_name="ValidationError")
class ValidationErrorSerializer(serializers.Serializer):
    loc = serializers.ListField(child=_LocationPart())
    msg = serializers.CharField()
    type = serializers.CharField()


@extend_schema_serializer(component_name="HTTPValidationError")
class HTTPValidationErrorSerializer(serializers.Serializer):
    detail = ValidationErrorSerializer(many=True)


@extend_schema_serializer(component_name="ErrorSchema")
class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What was refused and what to do about it.")
    error_type = serializers.CharField(
        help_text="A stable name for the kind of refusal, such as ResourceNotFoundError."
    )


# upload_via_url also answers 422 with an error_type naming why the source failed.
VALIDATION_OR_ERROR = PolymorphicProxySerializer(
    component_name="UnprocessableEntityError",
    serializers=[HTTPValidationErrorSerializer, ErrorSerializer],
    resource_type_field_name=None,
)

_DESCRIPTIONS = {
    400: "BadRequestError: the request cannot be parsed at all, such as more query parameters "
    "than DATA_UPLOAD_MAX_NUMBER_FIELDS (1000).",
    401: "InvalidTokenError: no API key, or one that is malformed, unknown or revoked.",
    402: "PaymentRequiredError: the organization is blocked, its subscription is inactive, "
    "or this would exceed a limit of its plan.",
    403: "OperationNotAllowedError: this credential may not perform this operation (a Client "
    "Key on a Server-only operation, a DEVELOPER member changing settings). "
    "ResourceNotAuthorizedError: a dashboard session without the X-Environment-Id of one "
    "of its environments, or a browser Origin this environment's CORS origins refuse.",
    406: "NotAcceptable: the Accept header excludes application/json, the only type answered.",
    404: "ResourceNotFoundError: no such resource in this environment (an id of another "
    "environment answers the same).",
    409: "ConflictError: the request conflicts with what exists.",
    413: "PayloadTooLargeError: the request body is larger than the server accepts.",
    422: "Validation Error: a malformed body, parameter or header, each problem with its location.",
    429: "RateLimitedError: too many requests of this kind; retry after Retry-After seconds.",
}
# What any operation can answer, whatever it does.
_ALWAYS = (400, 401, 403, 406, 422)


def answers(
    ok,
    *statuses: int,
    description: str = "Successful Response",
    when: dict[int, str] | None = None,
    error_422: str | None = None,
) -> dict:
    """``responses`` for an operation: 200 ``ok`` plus ``_ALWAYS`` and ``statuses``.

    ``when`` says, per status, in which cases this operation answers it; ``error_422``
    names the ``error_type`` values of 422 answers that are not field problems.
    """
    when = when or {}
    documented = {200: OpenApiResponse(ok, description=description)}
    for status in sorted({*_ALWAYS, *statuses}):
        text = " ".join(filter(None, (_DESCRIPTIONS[status], when.get(status))))
        body = HTTPValidationErrorSerializer if status == 422 else ErrorSerializer
        if status == 422 and error_422:
            body, text = VALIDATION_OR_ERROR, f"{text} {error_422}"
        documented[status] = OpenApiResponse(body, description=text)
    return documented


def path_id(name: str, what: str) -> OpenApiParameter:
    return OpenApiParameter(
        name, OpenApiTypes.UUID, OpenApiParameter.PATH, description=f"The id of the {what}."
    )


AUTHENTICATE_HEADER = OpenApiParameter(
    "WWW-Authenticate",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[401],
    description="Bearer, for refused API keys.",
)
RETRY_AFTER_HEADER = OpenApiParameter(
    "Retry-After",
    {"type": "string", "pattern": "^[0-9]+$"},
    OpenApiParameter.HEADER,
    response=[429],
    description="Seconds to wait before trying again.",
)

SERVER_KEY = "server_key"
SERVER_OR_CLIENT_KEY = "server_or_client_key"


def sdk(group: str, method: str, auth: str = SERVER_KEY, *, paginated: bool = False) -> dict:
    """The reference's code-generation hints: where an operation goes in a generated SDK
    and which credential it takes (a Client Key only where ``server_or_client_key``)."""
    hints = {
        "x-codegen-sdk-group-name": group,
        "x-codegen-sdk-method-name": method,
        "x-codegen-sdk-auth": auth,
    }
    if paginated:
        hints["x-codegen-sdk-pagination"] = "offset_headers"
    return hints
