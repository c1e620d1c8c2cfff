"""The endpoint behind ``upload_url``: one signed PUT that streams the bytes to storage.

A plain Django view, not DRF: the body must never be parsed or buffered, only streamed.
"""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from images.services.ingest import image_receive_upload
from images.services.uploads import read_upload_signature
from imgwire_site.api.errors import refusal_answer
from imgwire_site.domain import Refusal


@csrf_exempt
@require_http_methods(["PUT"])
def ingest_upload(request, image_id):
    claims = read_upload_signature(image_id, request.GET.get("signature", ""))
    try:
        image = image_receive_upload(
            image_id=image_id,
            claims=claims,
            content_type=request.META.get("CONTENT_TYPE", ""),
            content_length=request.META.get("CONTENT_LENGTH"),
            stream=request,
        )
    except Refusal as refusal:  # answered in the Resource API's shape, like the API itself
        status, body, headers = refusal_answer(refusal)
        return JsonResponse(body, status=status, headers=headers)
    return JsonResponse(
        {
            "id": str(image.id),
            "status": image.status,
            "size_bytes": image.size_bytes,
            "hash_sha256": image.hash_sha256,
        },
        headers={"ETag": f'"{image.hash_sha256}"'},
    )
