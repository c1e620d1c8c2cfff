"""The dashboard's browser uploader. It uses the public two-step API like a customer's
frontend would (docs/dashboard.md, "The browser uploader: which credential").

The page states what will be accepted before anything is sent (the types, the size limit of
the uploader's own key, what the plan still allows) and lists this member's recent uploads
from the server, so the results survive a reload."""

from datetime import timedelta

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST

from environments.quotas import check_upload_allowed, quota_period_of, upload_limits, upload_usage
from images.models import Image, ImageStatus, SupportedMimeType
from images.processing.formats import DIRECTLY_DELIVERABLE, EXTENSION_TO_MIME
from imgwire_site.dashboard import member_view
from imgwire_site.dashboard_format import human_bytes, human_datetime
from imgwire_site.domain import Refusal
from keys.models import ApiKey, ApiKeyType
from keys.services import api_key_authenticate, api_key_create, api_key_revoke, upload_token_create

UPLOADER_SESSION_KEY = "dashboard_uploader_keys"
MAX_FILES_PER_BATCH = 50
# Files whose bytes are on their way at once; the others wait in the page's queue. Three
# keeps a slow connection from splitting its bandwidth so thinly that every file stalls.
PARALLEL_UPLOADS = 3
# Longer than an upload token plus an upload URL live, and than the page polls for READY.
UPLOADER_KEY_GRACE = timedelta(hours=1)
# The uploader's key: the page states its size limit from an unsaved key of this policy,
# so the stated limit is the one the API applies to the real key.
UPLOADER_KEY_POLICY = {"key_type": ApiKeyType.CLIENT, "allow_unsigned_upload": False}
RECENT_UPLOADS_WINDOW = timedelta(hours=24)
RECENT_UPLOADS_SHOWN = 50

# What a row's badge says: the API's statuses, and the page's own states before the record
# exists (the page's script uses the same words).
STATUS_LABELS = {
    "refused": "not sent",
    "waiting": "waiting",
    "uploading": "uploading",
    "failed": "failed",
    "unfinished": "upload not finished",
    ImageStatus.PENDING: "received",
    ImageStatus.PROCESSING: "verifying",
    ImageStatus.READY: "ready",
    ImageStatus.QUARANTINE: "quarantined",
}
# How people call the formats; a type missing here is still listed, by its enum name.
TYPE_NAMES = {
    SupportedMimeType.JPEG: "JPEG",
    SupportedMimeType.JXL: "JPEG XL",
    SupportedMimeType.PNG: "PNG",
    SupportedMimeType.WEBP: "WebP",
    SupportedMimeType.AVIF: "AVIF",
    SupportedMimeType.GIF: "GIF",
    SupportedMimeType.ICO: "ICO",
    SupportedMimeType.HEIC: "HEIC",
    SupportedMimeType.BMP: "BMP",
    SupportedMimeType.TIFF: "TIFF",
}


def uploader_key_name(user) -> str:
    """The name of a member's dashboard uploader keys, as the keys page shows them. The page
    finds the member's keys and uploads by ``ApiKey.minted_for``, not by this name, so an
    address changed since keeps them."""
    return f"Dashboard uploader ({user.email or user.username})"[:100]


def _accepted_types() -> dict:
    types = {mime.value: TYPE_NAMES.get(mime, mime.name) for mime in SupportedMimeType}
    return {
        "names": types,
        "extensions": {ext: mime for ext, mime in EXTENSION_TO_MIME.items() if mime in types},
        # What the browser can show itself before the upload; others get a placeholder.
        "previewable": sorted(DIRECTLY_DELIVERABLE & types.keys()),
    }


def _english_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _plan_allowance(environment) -> list[str]:
    """What the plan still allows, one sentence a measure, from the quota module's usage
    (the same numbers its checks refuse with)."""
    organization = environment.organization
    plan = organization.billing_plan
    if plan is None:
        return ["This organization has no plan, so nothing limits its uploads or storage."]
    limits = upload_limits(plan)
    limited = tuple(name for name, limit in limits.items() if limit is not None)
    if not limited:
        return [f"The {plan.name} plan sets no limit on uploads, storage or pending uploads."]
    period = quota_period_of(organization)
    usage = upload_usage(organization, period, limited)
    left = {name: max(limits[name] - usage[name], 0) for name in limited}
    sentences = []
    if "uploads" in left:
        sentences.append(
            f"Uploads left this period: {left['uploads']} of the {limits['uploads']} of the "
            f"{plan.name} plan (the period ends {human_datetime(period.end)})."
        )
    if "storage" in left:
        sentences.append(
            f"Storage left: {human_bytes(left['storage'])} of {human_bytes(limits['storage'])}."
        )
    if "pending" in left:
        sentences.append(
            f"Pending places left: {left['pending']} of {limits['pending']} (uploads "
            "still waiting for their bytes take one each)."
        )
    labels = {"uploads": "uploads", "storage": "storage", "pending": "pending uploads"}
    unlimited = [label for name, label in labels.items() if name not in limited]
    if unlimited:
        sentences.append(f"The {plan.name} plan sets no limit on {_english_list(unlimited)}.")
    return sentences


def _upload_refusal(environment) -> str | None:
    """The sentence the API (and the standing banner) would refuse the next upload with."""
    try:
        check_upload_allowed(environment)
    except Refusal as refusal:
        return str(refusal)
    return None


def _recent_uploads(request) -> list[Image]:
    """This member's uploads through the dashboard in this environment, newest first: one
    query however many rows (the key is joined, never fetched per row)."""
    since = timezone.now() - RECENT_UPLOADS_WINDOW
    images = list(
        Image.objects.for_environment(request.environment)
        .filter(created_by_key__minted_for=request.user, created_at__gte=since)
        .newest_first()[:RECENT_UPLOADS_SHOWN]
    )
    unfinished_for = timedelta(seconds=settings.IMGWIRE_ABANDONED_UPLOAD_SECONDS)
    for image in images:
        image.row_status, image.detail = _row_state(image, unfinished_for)
        image.label = STATUS_LABELS[image.row_status]
        # Still on its way: the page follows it until READY or QUARANTINE.
        image.follow = image.row_status in (ImageStatus.PENDING, ImageStatus.PROCESSING)
    return images


def _row_state(image: Image, unfinished_for: timedelta) -> tuple[str, str]:
    if image.status == ImageStatus.READY:
        return image.status, f"Uploaded {human_datetime(image.created_at)}."
    if image.status == ImageStatus.QUARANTINE:
        return image.status, image.status_reason or "Imgwire could not verify this file."
    if image.status == ImageStatus.PENDING and image.bytes_received_at is None:
        removed = human_datetime(image.created_at + unfinished_for)
        return "unfinished", (
            f"Its bytes never arrived (the page was left or reloaded while sending it); it is "
            f"removed {removed} unless they arrive."
        )
    return image.status, "Received; Imgwire is verifying it."


@member_view()
def upload_page(request):
    accepted = _accepted_types()
    names = list(accepted["names"].values())
    max_bytes = ApiKey(**UPLOADER_KEY_POLICY).effective_maximum_upload_bytes
    return render(
        request,
        "dashboard/upload.html",
        {
            "type_names": _english_list(names),
            "accept": ",".join(
                [*accepted["names"], *(f".{ext}" for ext in accepted["extensions"])]
            ),
            "max_bytes": max_bytes,
            "max_files": MAX_FILES_PER_BATCH,
            "parallel": PARALLEL_UPLOADS,
            "allowance": _plan_allowance(request.environment),
            "refusal": _upload_refusal(request.environment),
            "recent": _recent_uploads(request),
            "recent_hours": int(RECENT_UPLOADS_WINDOW.total_seconds() // 3600),
            "uploader_config": {
                **accepted,
                "maxBytes": max_bytes,
                "maxFiles": MAX_FILES_PER_BATCH,
                "parallel": PARALLEL_UPLOADS,
                "tokenSeconds": settings.IMGWIRE_UPLOAD_TOKEN_TTL_SECONDS,
                "labels": STATUS_LABELS,
                "typeNames": _english_list(names),
            },
        },
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
    name = uploader_key_name(request.user)
    # A new session mints a new key. The member's older uploader keys (their secrets were
    # in earlier sessions) are revoked once nothing started with them can still be running:
    # revoking at once would break uploads in progress in another tab.
    stale = timezone.now() - UPLOADER_KEY_GRACE
    for old in (
        ApiKey.objects.for_environment(environment)
        .active()
        .filter(minted_for=request.user, created_at__lt=stale)
    ):
        api_key_revoke(key=old)
    _, secret = api_key_create(
        environment=environment, name=name, minted_for=request.user, **UPLOADER_KEY_POLICY
    )
    request.session[UPLOADER_SESSION_KEY] = {**stored, str(environment.id): secret}
    return secret


@member_view()
@require_POST
def upload_credentials(request):
    """What the uploader needs for a batch: the Client key and one upload token per file.
    ``count=0`` gives the key alone: a reloaded page follows unfinished uploads with it."""
    try:
        count = min(max(int(request.POST.get("count", "1")), 0), MAX_FILES_PER_BATCH)
    except ValueError:
        count = 1
    secret = _uploader_secret(request)
    tokens = [upload_token_create(environment=request.environment)[1] for _ in range(count)]
    return JsonResponse(
        {"client_key": secret, "upload_tokens": tokens}, headers={"Cache-Control": "no-store"}
    )
