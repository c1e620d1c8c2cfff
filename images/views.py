"""Dashboard pages for images: the grid, a detail page, deletes, zip downloads and the
browser uploader (which uses the public two-step API like a customer's frontend)."""

import uuid
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from rest_framework.exceptions import APIException

from images.forms import ImageFilterForm, UrlBuilderForm
from images.models import Image, ImageDownloadJob, SupportedMimeType
from images.services.deletion import image_delete, images_bulk_delete
from images.services.downloads import download_job_create, download_url_for
from imgwire_site.dashboard import member_view
from keys.models import ApiKey, ApiKeyType
from keys.services import api_key_authenticate, api_key_create, api_key_revoke, upload_token_create

PAGE_SIZE = 24
UPLOADER_SESSION_KEY = "dashboard_uploader_keys"
MAX_FILES_PER_BATCH = 50
# Longer than an upload token plus an upload URL live, and than the page polls for READY.
UPLOADER_KEY_GRACE = timedelta(hours=1)


def _error_text(error: APIException) -> str:
    errors = getattr(error, "errors", None)
    if errors:
        return "; ".join(str(e.get("msg", e)) for e in errors)
    detail = error.detail
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        return str(detail[0].get("msg", detail[0]))
    return str(detail)


def _image(request, image_id) -> Image:
    image = Image.objects.for_environment(request.environment).filter(id=image_id).first()
    if image is None:
        raise Http404("No such image in this environment.")
    image.environment = request.environment
    return image


@member_view()
def image_list(request):
    form = ImageFilterForm(request.GET or None)
    images = form.apply(Image.objects.for_environment(request.environment).newest_first())
    page = Paginator(images, PAGE_SIZE).get_page(request.GET.get("page"))
    for image in page.object_list:
        image.environment = request.environment  # cdn_url without a query per image
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "dashboard/images.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


@member_view()
def image_detail(request, image_id):
    image = _image(request, image_id)
    builder = UrlBuilderForm(request.GET or None)
    query = builder.query()
    preview_url = image.cdn_url + (f"?{urlencode(query)}" if query else "")
    return render(
        request,
        "dashboard/image_detail.html",
        {"image": image, "builder": builder, "preview_url": preview_url},
    )


@member_view()
@require_POST
def image_delete_view(request, image_id):
    image = _image(request, image_id)
    image_delete(environment=request.environment, image_id=image.id)
    messages.success(request, f"{image.original_filename} was deleted.")
    return redirect("images", environment_id=request.environment.id)


def _uuids(values) -> list:
    ids = []
    for value in values:
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            continue
    return ids


@member_view()
@require_POST
def bulk_action(request):
    ids = _uuids(request.POST.getlist("ids"))
    back = redirect("images", environment_id=request.environment.id)
    if not ids:
        messages.error(request, "Select at least one image first.")
        return back
    try:
        if request.POST.get("action") == "download":
            job = download_job_create(environment=request.environment, image_ids=ids)
            return redirect("download", environment_id=request.environment.id, job_id=job.id)
        count = images_bulk_delete(environment=request.environment, image_ids=ids)
    except APIException as error:
        messages.error(request, _error_text(error))
        return back
    messages.success(request, f"{count} images were deleted.")
    return back


def _job(request, job_id) -> ImageDownloadJob:
    job = ImageDownloadJob.objects.for_environment(request.environment).filter(id=job_id).first()
    if job is None:
        raise Http404("This download does not exist or has expired.")
    return job


@member_view()
def download_page(request, job_id):
    job = _job(request, job_id)
    return render(
        request, "dashboard/download.html", {"job": job, "download_url": download_url_for(job)}
    )


@member_view()
def download_status(request, job_id):
    job = _job(request, job_id)
    return JsonResponse(
        {
            "status": job.status,
            "download_url": download_url_for(job),
            "failure_reason": job.failure_reason,
        },
        headers={"Cache-Control": "no-store"},
    )


# --- browser uploads ------------------------------------------------------------------


@member_view()
def upload_page(request):
    return render(
        request,
        "dashboard/upload.html",
        {"supported_mime_types": [m.value for m in SupportedMimeType]},
    )


def _uploader_secret(request) -> str:
    """This member's dashboard Client key for this environment, kept only in their
    server-side session. It allows no unsigned uploads, so the secret alone is useless:
    every upload also needs a single-use token minted by ``upload_credentials``."""
    environment = request.environment
    stored = request.session.get(UPLOADER_SESSION_KEY, {})
    secret = stored.get(str(environment.id))
    key = secret and api_key_authenticate(secret)
    if key and key.environment_id == environment.id and not key.allow_unsigned_upload:
        return secret
    name = f"Dashboard uploader ({request.user.email or request.user.username})"[:100]
    # A new session mints a new key. The member's older uploader keys (their secrets were
    # in earlier sessions) are revoked once nothing started with them can still be running:
    # revoking at once would break uploads in progress in another tab.
    stale = timezone.now() - UPLOADER_KEY_GRACE
    for old in (
        ApiKey.objects.for_environment(environment).active().filter(name=name, created_at__lt=stale)
    ):
        api_key_revoke(key=old)
    _, secret = api_key_create(
        environment=environment, name=name, key_type=ApiKeyType.CLIENT, allow_unsigned_upload=False
    )
    request.session[UPLOADER_SESSION_KEY] = {**stored, str(environment.id): secret}
    return secret


@member_view()
@require_POST
def upload_credentials(request):
    """What the uploader needs for a batch: the Client key and one upload token per file."""
    try:
        count = min(max(int(request.POST.get("count", "1")), 1), MAX_FILES_PER_BATCH)
    except ValueError:
        count = 1
    secret = _uploader_secret(request)
    tokens = [upload_token_create(environment=request.environment)[1] for _ in range(count)]
    return JsonResponse(
        {"client_key": secret, "upload_tokens": tokens}, headers={"Cache-Control": "no-store"}
    )
