"""Dashboard pages for images: the grid, deletes and zip downloads. The image page is
in views_detail.py, the browser uploader in views_upload.py."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from rest_framework.exceptions import APIException

from images.forms import ImageFilterForm, form_problems
from images.models import Image, ImageDownloadJob, ImageStatus
from images.services.deletion import image_delete, images_bulk_delete
from images.services.downloads import download_job_create, download_url_for
from images.services.ingest import image_discard_unreceived
from images.views_library import (
    IMAGES_BACK_SESSION_KEY,
    image_or_404,
    library_browse,
    without,
)
from imgwire_site.dashboard import member_view

PAGE_SIZE = 24
SELECTION_SESSION_KEY = "dashboard_selection"
NAMES_SHOWN = 10
VIEWS = ("grid", "list")
# A longer query is not kept for the image page's way back (it would bloat the session).
BACK_QUERY_LIMIT = 2000


def _error_text(error: APIException) -> str:
    errors = getattr(error, "errors", None)
    if errors:
        return "; ".join(str(e.get("msg", e)) for e in errors)
    detail = error.detail
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        return str(detail[0].get("msg", detail[0]))
    return str(detail)


@member_view()
def image_list(request):
    form = ImageFilterForm(request.GET or None)
    problems = form_problems(form) if form.is_bound and not form.is_valid() else []
    if problems:
        # The valid filters still apply; only the named ones are dropped.
        form = ImageFilterForm({k: v for k, v in request.GET.items() if k not in form.errors})
    images = form.apply(Image.objects.for_environment(request.environment))
    view = request.GET.get("view") or "grid"
    if view not in VIEWS:
        problems.append(f"View \u201c{view[:100]}\u201d was ignored: it is grid or list.")
        view = "grid"
    images, library, library_problems = library_browse(request, images)
    problems += library_problems
    paginator = Paginator(images, PAGE_SIZE)
    asked_page = request.GET.get("page")
    page = paginator.get_page(asked_page)
    if asked_page and asked_page != str(page.number):
        problems.append(f"There is no page \u201c{asked_page}\u201d; this is page {page.number}.")
    selected = set(
        request.session.get(SELECTION_SESSION_KEY, {}).get(str(request.environment.id), [])
    )
    if selected:
        # Shown once, after a bulk action that kept it (a zip that left images out).
        request.session[SELECTION_SESSION_KEY].pop(str(request.environment.id))
        request.session.modified = True
    unfinished_for = timedelta(seconds=settings.IMGWIRE_ABANDONED_UPLOAD_SECONDS)
    for image in page.object_list:
        image.environment = request.environment  # cdn_url without a query per image
        image.selected = str(image.id) in selected
        image.unfinished = image.status == ImageStatus.PENDING and image.bytes_received_at is None
        image.removed_after = image.created_at + unfinished_for
    _remember_the_way_back(request)
    return render(
        request,
        "dashboard/images.html",
        {
            "form": form,
            "page": page,
            "query": without(request.GET, "page"),
            "view": view,
            "without_view": without(request.GET, "view"),
            "back": request.GET.urlencode(),
            "problems": problems,
            **library,
        },
        status=400 if problems else 200,
    )


def _remember_the_way_back(request) -> None:
    """Keep this page's query for the image page's "Back to images" (filters, sort, view
    and page as they were), written only when it changed: browsing the same page again
    costs no session write."""
    query = request.GET.urlencode()
    if len(query) > BACK_QUERY_LIMIT:
        return
    stored = request.session.get(IMAGES_BACK_SESSION_KEY, {})
    environment = str(request.environment.id)
    if stored.get(environment, "") != query:
        request.session[IMAGES_BACK_SESSION_KEY] = {**stored, environment: query}


@member_view()
@require_POST
def image_discard(request, image_id):
    """The uploader's clean-up after its PUT failed: the record that never got its bytes
    is removed and its upload slot given back, so a failed upload leaves no PENDING ghost
    and does not count as an upload. A soft delete (the delete API) would keep counting."""
    image = Image.objects.for_environment(request.environment).filter(id=image_id).first()
    if image is None:
        return JsonResponse({"detail": "No such image in this environment."}, status=404)
    lapse = timezone.now() - timedelta(seconds=settings.IMGWIRE_UPLOAD_URL_TTL_SECONDS)
    receiving = image.ingest_started_at is not None and image.ingest_started_at > lapse
    if image.status != ImageStatus.PENDING or image.bytes_received_at is not None or receiving:
        # Its bytes arrived (or a PUT is streaming them now): it is an upload after all.
        return JsonResponse(
            {"detail": f"{image.original_filename} received its bytes; it was kept."},
            status=409,
        )
    image.environment = request.environment
    image_discard_unreceived(image)
    return JsonResponse({"id": str(image_id), "status": "discarded"})


@member_view()
@require_POST
def image_delete_view(request, image_id):
    image = image_or_404(request, image_id)
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


def _names(rows) -> str:
    shown = ", ".join(f"{name} ({status})" for name, status in rows[:NAMES_SHOWN])
    more = len(rows) - NAMES_SHOWN
    return shown + (f" and {more} more" if more > 0 else "")


def _keep_selection(request, ids) -> None:
    stored = request.session.get(SELECTION_SESSION_KEY, {})
    request.session[SELECTION_SESSION_KEY] = {
        **stored,
        str(request.environment.id): [str(i) for i in ids],
    }


def _download(request, ids, back):
    """A zip of the READY images of the selection. The API refuses a selection with any
    image not READY (its contract); the dashboard leaves those out instead and names them,
    so one unfinished upload does not make the whole zip impossible."""
    found = dict(
        (image_id, (name, status))
        for image_id, name, status in Image.objects.for_environment(request.environment)
        .filter(id__in=ids)
        .values_list("id", "original_filename", "status")
    )
    left_out = [found[i] for i in ids if i in found and found[i][1] != ImageStatus.READY]
    # Ids of another environment stay in: the service refuses them as the API does.
    wanted = [i for i in ids if i not in found or found[i][1] == ImageStatus.READY]
    _keep_selection(request, ids)
    if not wanted:
        messages.error(
            request,
            f"None of the selected images can be downloaded yet: {_names(left_out)}; "
            "only READY images can be downloaded.",
        )
        return back
    job = download_job_create(environment=request.environment, image_ids=wanted)
    if left_out:
        messages.warning(
            request,
            f"{len(left_out)} of the {len(ids)} selected images are not READY and were left "
            f"out of the zip: {_names(left_out)}.",
        )
    return redirect("download", environment_id=request.environment.id, job_id=job.id)


@member_view()
@require_POST
def bulk_action(request):
    ids = list(dict.fromkeys(_uuids(request.POST.getlist("ids"))))
    # The grid's filters and page, so the answer lands where the member was.
    kept = QueryDict(request.POST.get("back", "")).urlencode()
    back = redirect(
        reverse("images", kwargs={"environment_id": request.environment.id})
        + (f"?{kept}" if kept else "")
    )
    if not ids:
        messages.error(request, "Select at least one image first.")
        return back
    try:
        if request.POST.get("action") == "download":
            return _download(request, ids, back)
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
