"""The dashboard's browser uploader. It uses the public two-step API like a customer's
frontend would (docs/dashboard.md, "The browser uploader: which credential")."""

from datetime import timedelta

from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_POST

from images.models import SupportedMimeType
from imgwire_site.dashboard import member_view
from keys.models import ApiKey, ApiKeyType
from keys.services import api_key_authenticate, api_key_create, api_key_revoke, upload_token_create

UPLOADER_SESSION_KEY = "dashboard_uploader_keys"
MAX_FILES_PER_BATCH = 50
# Longer than an upload token plus an upload URL live, and than the page polls for READY.
UPLOADER_KEY_GRACE = timedelta(hours=1)


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
