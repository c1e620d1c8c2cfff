"""Inbound notifications from the object store (direct-to-S3 upload completion)."""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from images.services.direct import s3_events_receive, token_is_valid
from imgwire_site.api.errors import RequestValidationError
from imgwire_site.api.parsers import loads_strictly

MAX_EVENT_BODY = 1024 * 1024


@csrf_exempt
@require_POST
def s3_events(request):
    """AWS S3 (via SNS/Lambda/EventBridge forwarding) or MinIO webhook notifications.

    Authenticated with IMGWIRE_S3_EVENTS_TOKEN sent as the Authorization header (MinIO's
    ``auth_token``) or ``?token=``.
    """
    presented = request.META.get("HTTP_AUTHORIZATION") or request.GET.get("token", "")
    if not token_is_valid(presented):
        return JsonResponse(
            {
                "detail": "Send IMGWIRE_S3_EVENTS_TOKEN as the Authorization header.",
                "error_type": "InvalidTokenError",
            },
            status=401,
        )
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_EVENT_BODY:
        return JsonResponse(
            {"detail": "Event bodies may be at most 1 MiB.", "error_type": "PayloadTooLargeError"},
            status=413,
        )
    try:
        # Strict decoding with bounded nesting: a deep body would raise RecursionError.
        payload = loads_strictly(request.body) if request.body else None
        completed = s3_events_receive(payload)
    except RequestValidationError as refusal:
        return JsonResponse(
            {
                "detail": f"Not an S3 event notification: {refusal.errors[0]['msg']}",
                "error_type": "BadRequestError",
            },
            status=400,
        )
    except ValueError as error:
        return JsonResponse(
            {"detail": f"Not an S3 event notification: {error}", "error_type": "BadRequestError"},
            status=400,
        )
    return JsonResponse({"completed": completed})
