"""Dashboard pages for API keys (OWNER/ADMIN only)."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render

from images.compat.uploadcare.services import uploadcare_auto_store, uploadcare_auto_store_set
from imgwire_site.dashboard import member_view
from keys.forms import ClientPolicyForm, KeyCreateForm
from keys.models import ApiKey, ApiKeyType, SigningSecret
from keys.services import api_key_create, api_key_policy_update, api_key_revoke
from keys.signing import signing_secret_reveal, signing_secret_rotate

# Keys the dashboard mints for its own uploader; listed apart so nobody revokes one by
# mistake thinking it is theirs (revoking is harmless: the next upload mints another).
DASHBOARD_UPLOADER_PREFIX = "Dashboard uploader"


@member_view(manage=True)
def key_list(request):
    keys = ApiKey.objects.for_environment(request.environment).active()
    secrets = list(SigningSecret.objects.for_environment(request.environment).usable())
    context = {
        "keys": keys,
        "signing_secret": next((s for s in secrets if s.valid_until is None), None),
        "previous_signing_secret": next((s for s in secrets if s.valid_until), None),
        "uploadcare_auto_store": uploadcare_auto_store(request.environment),
        "public_url": settings.IMGWIRE_PUBLIC_URL,
        "uploadcare_host": settings.IMGWIRE_UPLOADCARE_HOST,
    }
    return render(request, "dashboard/keys.html", context)


@member_view(manage=True)
def uploadcare_settings(request):
    """POST: the environment's Uploadcare auto-store (UPLOADCARE_STORE=auto)."""
    if request.method == "POST":
        auto_store = request.POST.get("auto_store") == "on"
        uploadcare_auto_store_set(environment=request.environment, auto_store=auto_store)
        messages.success(
            request,
            "Uploadcare uploads with UPLOADCARE_STORE=auto are now "
            + ("stored." if auto_store else "kept for 24 hours unless stored."),
        )
    return redirect("keys", environment_id=request.environment.id)


@member_view(manage=True)
def signing_secret_show(request):
    """POST only (a CSRF-checked action, never a link a crawler or prefetch could follow)."""
    if request.method != "POST":
        return redirect("keys", environment_id=request.environment.id)
    secret = signing_secret_reveal(environment=request.environment)
    response = render(request, "dashboard/signing_secret.html", {"secret": secret})
    response["Cache-Control"] = "no-store"
    return response


@member_view(manage=True)
def signing_secret_rotate_view(request):
    """GET asks for confirmation; POST rotates, then redirects (a reload rotates nothing)."""
    if request.method != "POST":
        return render(request, "dashboard/signing_secret_rotate.html")
    signing_secret_rotate(environment=request.environment)
    messages.success(
        request,
        "A new signing secret was made. The previous one keeps working for "
        f"{settings.IMGWIRE_SIGNING_SECRET_OVERLAP_SECONDS // 60} minutes: move your backends "
        "to the new one now.",
    )
    return redirect("keys", environment_id=request.environment.id)


@member_view(manage=True)
def key_create(request):
    form = KeyCreateForm(request.POST or None)
    policy_form = ClientPolicyForm(request.POST or None, prefix="policy")
    if request.method == "POST" and form.is_valid():
        is_client = form.cleaned_data["key_type"] == ApiKeyType.CLIENT
        if not is_client or policy_form.is_valid():
            key, secret = api_key_create(
                environment=request.environment,
                name=form.cleaned_data["name"],
                key_type=form.cleaned_data["key_type"],
                **(policy_form.policy() if is_client else {}),
            )
            # Post/Redirect/Get: a reload of the result must not mint a second key. The
            # secret waits in the session for the one page that shows it, which removes it.
            request.session[_shown_once(key.id)] = secret
            return redirect("key-created", environment_id=request.environment.id, key_id=key.id)
    return render(request, "dashboard/key_form.html", {"form": form, "policy_form": policy_form})


def _shown_once(key_id) -> str:
    return f"new_key_secret:{key_id}"


@member_view(manage=True)
def key_created(request, key_id):
    key = _key(request, key_id)
    secret = request.session.pop(_shown_once(key.id), None)
    response = render(request, "dashboard/key_created.html", {"key": key, "secret": secret})
    response["Cache-Control"] = "no-store"
    return response


def _key(request, key_id) -> ApiKey:
    return get_object_or_404(
        ApiKey.objects.for_environment(request.environment).active(), id=key_id
    )


@member_view(manage=True)
def key_edit(request, key_id):
    key = _key(request, key_id)
    initial = {
        "allowed_mime_types": key.allowed_mime_types or [],
        "maximum_upload_bytes": key.effective_maximum_upload_bytes,
        "allow_unsigned_upload": key.allow_unsigned_upload,
        "maximum_pending_uploads": key.maximum_pending_uploads,
    }
    form = ClientPolicyForm(request.POST or None, initial=initial)
    if key.is_server:
        form = None
    elif request.method == "POST" and form.is_valid():
        api_key_policy_update(key=key, **form.policy())
        messages.success(request, f"The policy of {key.name} was saved.")
        return redirect("keys", environment_id=request.environment.id)
    return render(request, "dashboard/key_edit.html", {"key": key, "form": form})


@member_view(manage=True)
def key_revoke(request, key_id):
    """GET asks for confirmation; POST revokes."""
    key = _key(request, key_id)
    if request.method != "POST":
        return render(request, "dashboard/key_revoke.html", {"key": key})
    api_key_revoke(key=key)
    messages.success(request, f"{key.name} (…{key.last4}) was revoked; it stops working now.")
    return redirect("keys", environment_id=request.environment.id)
