from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from imgwire_site.api.errors import RequestValidationError

MAX_LIMIT = 100
DEFAULT_LIMIT = 20

# The query parameters of every list, with the bounds paginate() enforces, and the headers
# its answers carry (the reference's names and bounds).
PAGINATION_PARAMETERS = [
    OpenApiParameter(
        "page",
        {"type": "integer", "minimum": 1},
        OpenApiParameter.QUERY,
        default=1,
        description="The page to return, from 1; past the last page the list is empty.",
    ),
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
        OpenApiParameter.QUERY,
        default=DEFAULT_LIMIT,
        description=f"Items per page, 1 to {MAX_LIMIT}.",
    ),
    *(
        OpenApiParameter(
            name, OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200], description=text
        )
        for name, text in (
            ("X-Total-Count", "Total number of items matching the request."),
            ("X-Page", "Current page number."),
            ("X-Limit", "Maximum number of items returned per page."),
            ("X-Prev-Page", "Previous page number, or null when there is no previous page."),
            ("X-Next-Page", "Next page number, or null when there is no next page."),
        )
    ),
]


def _int_param(request, name: str, default: int, minimum: int, maximum: int | None) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    bound = f"between {minimum} and {maximum}" if maximum else f"at least {minimum}"
    try:
        value = int(raw)
    except ValueError:
        raise RequestValidationError(
            [
                {
                    "loc": ["query", name],
                    "msg": f"{name} must be an integer {bound}",
                    "type": "int_parsing",
                }
            ]
        ) from None
    if value < minimum or (maximum is not None and value > maximum):
        raise RequestValidationError(
            [
                {
                    "loc": ["query", name],
                    "msg": f"{name} must be {bound}, got {value}",
                    "type": "greater_than_equal" if value < minimum else "less_than_equal",
                }
            ]
        )
    return value


def paginate(request, queryset):
    """Slice a queryset by ``page``/``limit``; returns (items, headers)."""
    page = _int_param(request, "page", 1, 1, None)
    limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    total = queryset.count()
    offset = (page - 1) * limit
    items = list(queryset[offset : offset + limit]) if offset < total else []
    headers = {
        "X-Total-Count": str(total),
        "X-Page": str(page),
        "X-Limit": str(limit),
        "X-Prev-Page": str(page - 1) if page > 1 else "null",
        "X-Next-Page": str(page + 1) if offset + limit < total else "null",
    }
    return items, headers
