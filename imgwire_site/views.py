"""Site-wide views: the health check, and the error pages Django itself answers.

Django answers some errors before any view runs or after one fails: no URL matches (404;
``/api/v1/images/abc%2fdef`` arrives as ``abc/def`` and matches nothing), a body over
DATA_UPLOAD_MAX_MEMORY_SIZE or too many fields (SuspiciousOperation, 400), an uncaught
exception (500). With DEBUG off it renders them as HTML; under the paths that machines
call they answer the Resource API's JSON error shape instead (imgwire_site/urls.py sets
these as handler400/404/500).
"""

from django.core.exceptions import RequestDataTooBig
from django.db import connection
from django.http import JsonResponse
from django.views import defaults

from imgwire_site.api.errors import too_large_detail

# Everything else (dashboard, accounts, admin) is read by people, in a browser.
JSON_PATH_PREFIXES = ("/api/", "/ingest/", "/hooks/", "/downloads/", "/cdn/", "/health")


def speaks_json(request) -> bool:
    return request.path_info.startswith(JSON_PATH_PREFIXES)


def health(request):
    """Liveness plus a database round trip, for load balancers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def error_response(status: int, detail: str, error_type: str) -> JsonResponse:
    response = JsonResponse({"detail": detail, "error_type": error_type}, status=status)
    response["Cache-Control"] = "no-store"
    return response


def bad_request(request, exception=None):
    if not speaks_json(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return error_response(413, too_large_detail(), "PayloadTooLargeError")
    return error_response(400, f"The request cannot be processed: {exception}", "BadRequestError")


def not_found(request, exception=None):
    if not speaks_json(request):
        return defaults.page_not_found(request, exception)
    detail = (
        "No such endpoint; see /api/v1/openapi-server.json."
        if request.path_info.startswith("/api/")
        else "Not found."
    )
    return error_response(404, detail, "ResourceNotFoundError")


def server_error(request):
    if not speaks_json(request):
        return defaults.server_error(request)
    return error_response(
        500, "The server failed to answer this request; it has been logged.", "InternalServerError"
    )
