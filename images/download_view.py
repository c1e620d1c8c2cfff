"""Serving a finished archive through a signed, short-lived URL (local storage; on S3 the
download_url is a presigned GET instead)."""

from django.core.files.storage import default_storage
from django.http import FileResponse, JsonResponse
from django.views.decorators.http import require_GET

from images.services.downloads import read_download_signature


@require_GET
def download_archive(request, job_id):
    job = read_download_signature(job_id, request.GET.get("signature", ""))
    if job is None:
        return JsonResponse(
            {
                "detail": "This download link is invalid or has expired; fetch the job again for "
                "a fresh download_url.",
                "error_type": "InvalidSignatureError",
            },
            status=403,
        )
    return FileResponse(
        default_storage.open(job.archive_key, "rb"),
        as_attachment=True,
        filename=f"imgwire-{job.created_at:%Y%m%d-%H%M%S}.zip",
        content_type="application/zip",
    )
