from django.db import connection
from django.http import JsonResponse


def health(request):
    """Liveness plus a database round trip, for load balancers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


def api_not_found(request, exception=None):
    return JsonResponse(
        {
            "detail": "No such endpoint; see /api/v1/openapi-server.json.",
            "error_type": "ResourceNotFoundError",
        },
        status=404,
    )
