"""Previews inside the dashboard: a signed-in member sees their images through the same
planner and render cache as the CDN, but not as public delivery.

Two differences from ``images.delivery.views.deliver``, both on purpose: the quota and
standing checks are skipped (a blocked or over-quota organization must still be able to
see what it stores, docs/dashboard.md), and nothing is counted as delivery usage (the
team looking at its own images is neither a transformation nor transfer it sells).
The rendered variants are the CDN's own cache entries, so a preview rendered here is a
cache hit for the CDN URL later, and the other way round.
"""

from urllib.parse import parse_qsl

from django.http import FileResponse, HttpResponse, JsonResponse

from images.delivery.service import (
    DeliveryError,
    ensure_delivered,
    plan_delivery,
    variant_headers,
)
from images.delivery.views import MAX_QUERY_LENGTH, StoredObjectResponse
from images.delivery.watermarks import watermark_fetcher
from images.models import Image, ImageStatus
from images.storage import open_object
from images.transform import TransformError, parse_transform
from imgwire_site.dashboard import member_view

# Only members can fetch it, so no shared cache may keep it; the browser may, and the
# ETag makes a revalidation a 304.
CACHE_CONTROL = "private, max-age=3600"


def _error(status: int, message: str, error_type: str) -> JsonResponse:
    return JsonResponse(
        {"detail": message, "error_type": error_type},
        status=status,
        headers={"Cache-Control": "no-store"},
    )


@member_view()
def image_preview(request, image_id):
    """``?preset=<name>`` and the delivery query (width, format, …) as on a CDN URL."""
    image = (
        Image.objects.for_environment(request.environment)
        .filter(id=image_id, status=ImageStatus.READY)
        .first()
    )
    if image is None:
        return _error(404, "No such image in this environment.", "ResourceNotFoundError")
    image.environment = request.environment
    raw = request.META.get("QUERY_STRING", "")
    if len(raw) > MAX_QUERY_LENGTH:
        return _error(
            414,
            f"The query may be at most {MAX_QUERY_LENGTH} characters.",
            "InvalidTransformationError",
        )
    pairs = parse_qsl(raw, keep_blank_values=True)
    preset = next((value for name, value in pairs if name == "preset"), None) or None
    query = [(name, value) for name, value in pairs if name != "preset"]
    try:
        transform = parse_transform(query, preset)
    except TransformError as error:
        return _error(400, error.message, "InvalidTransformationError")
    accept = request.META.get("HTTP_ACCEPT")
    plan = plan_delivery(image, transform, accept)
    headers = variant_headers(plan, CACHE_CONTROL)
    if plan.etag in request.META.get("HTTP_IF_NONE_MATCH", ""):
        return HttpResponse(status=304, headers=headers)
    try:
        delivered = ensure_delivered(
            plan,
            query=query,
            preset=preset,
            accept=accept,
            watermark=watermark_fetcher(image, transform),
        )
    except DeliveryError as error:
        return _error(error.status, error.message, "RenderError")
    headers["Content-Length"] = str(delivered.size)
    return StoredObjectResponse(delivered.body, content_type=plan.content_type, headers=headers)


@member_view()
def image_original(request, image_id):
    """The stored original, byte for byte, as an attachment under its uploaded name: what
    "Download the original" means to a member. Delivery's untransformed URL is not that (a
    private image's answers 404 unsigned, a blocked organization's is refused, and an
    original is re-encoded when it cannot be served as stored), and it counts as transfer."""
    image = (
        Image.objects.for_environment(request.environment)
        .filter(id=image_id, status=ImageStatus.READY)
        .first()
    )
    opened = image and open_object(image.original_key)
    if not opened:
        return _error(404, "No such image in this environment.", "ResourceNotFoundError")
    stream, size = opened
    response = FileResponse(
        stream,
        as_attachment=True,
        filename=image.original_filename,
        content_type=image.mime_type,
        headers={"Cache-Control": "private, no-cache", "X-Content-Type-Options": "nosniff"},
    )
    response["Content-Length"] = str(size)
    return response
