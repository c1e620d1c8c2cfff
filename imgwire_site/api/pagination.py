from imgwire_site.api.errors import RequestValidationError

MAX_LIMIT = 100
DEFAULT_LIMIT = 20


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
