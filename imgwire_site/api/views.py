"""Conventions shared by every Resource API view."""

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from imgwire_site.api.errors import RequestValidationError

ENVIRONMENT_HEADER = OpenApiParameter(
    "X-Environment-Id",
    OpenApiTypes.UUID,
    OpenApiParameter.HEADER,
    required=False,
    description="The environment to act in, for dashboard sessions (API keys imply it).",
)
STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}


def validated(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def path_uuid(value: str, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise RequestValidationError(
            [{"loc": ["path", name], "msg": f"{name} must be a UUID", "type": "uuid_parsing"}]
        ) from None


def environment_of(request):
    return request.auth.environment
