"""Site-wide views: the health check, and the error pages Django itself answers.

Django answers some errors before any view runs or after one fails: no URL matches (404;
``/api/v1/images/abc%2fdef`` arrives as ``abc/def`` and matches nothing), a body over
DATA_UPLOAD_MAX_MEMORY_SIZE or too many fields (SuspiciousOperation, 400), an uncaught
exception (500). With DEBUG off it renders them as HTML; under the paths that machines
call they answer the Resource API's JSON error shape instead (imgwire_site/urls.py sets
these as handler400/404/500).
"""

import logging

from django.core.exceptions import RequestDataTooBig
from django.db import connection
from django.http import JsonResponse
from django.views import defaults

from imgwire_site.api.errors import too_large_detail

logger = logging.getLogger(__name__)
# Everything else (dashboard, accounts, admin) is read by people, in a browser.
JSON_PATH_PREFIXES = ("/api/", "/ingest/", "/hooks/", "/downloads/", "/cdn/", "/health")


def speaks_json(request) -> bool:
    return request.path_info.startswith(JSON_PATH_PREFIXES)


def health_live(request):
    """Liveness: the process answers (restart it if not); says nothing about its services."""
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_storage() -> None:
    from django.core.files.storage import default_storage

    default_storage.exists("health-probe")  # a HEAD (S3) or a stat: reachable, authorised


def _check_broker() -> None:
    from imgwire_site.broker import broker, is_embedded

    if is_embedded():
        return
    client = getattr(broker, "client", None)
    if client is not None:  # Redis
        client.ping()
    else:  # RabbitMQ: a channel on this thread's connection (opened if need be)
        broker.channel  # noqa: B018


def health(request):
    """Readiness, for load balancers: a database round trip, storage and the broker."""
    checks = {"database": _check_database, "storage": _check_storage, "broker": _check_broker}
    answer, ok = {}, True
    for name, check in checks.items():
        try:
            check()
            answer[name] = "ok"
        except Exception:
            logger.warning("health: %s unreachable", name, exc_info=True)
            answer[name], ok = "unreachable", False
    return JsonResponse({"status": "ok" if ok else "error", **answer}, status=200 if ok else 503)


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
