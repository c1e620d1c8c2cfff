"""The dashboard's image page: a sized preview, the facts, the URL builder and its signed
URL (the library part, tags/folder/privacy, is views_library.py)."""

from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from images.delivery.signing import delivery_url_sign
from images.forms_builder import SignedValidityForm, UrlBuilderForm
from images.views_library import IMAGES_BACK_SESSION_KEY, image_or_404
from imgwire_site.dashboard import member_view
from imgwire_site.domain import Refusal

NO_STORE = {"Cache-Control": "no-store"}  # a signed URL is a credential


def _built(request, image, data) -> dict:
    """The builder for ``data``: its form, the CDN URL it makes, and its preview."""
    builder = UrlBuilderForm(data or None)
    if builder.is_bound:
        builder.is_valid()
    own_preview = reverse(
        "image-preview", kwargs={"environment_id": request.environment.id, "image_id": image.id}
    )
    preview_query = builder.preview_query()
    return {
        "builder": builder,
        "preview_url": image.cdn_url + builder.suffix(),
        # Previews go through the dashboard (they work while public delivery is refused),
        # and only once something is chosen: without it the URL serves the original.
        "builder_preview_url": f"{own_preview}?{preview_query}" if preview_query else None,
        "problems": builder.problems(),
    }


def _page(request, image, data, **extra):
    context = _built(request, image, data)
    back = request.session.get(IMAGES_BACK_SESSION_KEY, {}).get(str(request.environment.id), "")
    context.update(
        image=image,
        large_preview_url=reverse(
            "image-preview",
            kwargs={"environment_id": request.environment.id, "image_id": image.id},
        )
        + "?preset=large",
        back_query=back,
        validity=extra.pop("validity", None) or SignedValidityForm(),
        **extra,
    )
    status = 400 if context["problems"] or extra.get("signed_problems") else 200
    return render(request, "dashboard/image_detail.html", context, status=status)


@member_view()
def image_detail(request, image_id):
    return _page(request, image_or_404(request, image_id), request.GET)


@member_view()
@require_GET
def image_builder(request, image_id):
    """The builder's answer for the page's script: the CDN URL in canonical form, the
    preview's address and one sentence per refused field (400 then; the rest applies)."""
    image = image_or_404(request, image_id)
    built = _built(request, image, request.GET)
    return JsonResponse(
        {
            "url": built["preview_url"],
            "preview_url": built["builder_preview_url"],
            "problems": built["problems"],
        },
        status=400 if built["problems"] else 200,
    )


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@member_view()
@require_POST
def image_builder_signed(request, image_id):
    """A signed URL for the builder's transformation (POST + CSRF; JSON for the page's
    script, the page itself without one), never sent in an address or a redirect."""
    image = image_or_404(request, image_id)
    validity = SignedValidityForm(request.POST)
    builder = UrlBuilderForm(request.POST)
    refused = [] if builder.is_valid() else builder.problems()
    problems = []  # why no URL was signed, besides the builder's own sentences
    if refused:
        problems.append("No signed URL: a value of the transformation was refused (above).")
    if not validity.is_valid():
        problems.append("Choose how long the signed URL stays valid: 1 hour, 1 day or 1 week.")
    url = None
    if not problems:
        seconds = validity.cleaned_data["valid_for"]
        try:
            url = delivery_url_sign(image, expires_in=seconds, transformation=builder.suffix())
        except Refusal as refusal:
            problems.append(f"No signed URL: {refusal.message}")
    if _wants_json(request):
        if problems:
            return JsonResponse({"problems": refused + problems}, status=400, headers=NO_STORE)
        label = dict(validity.fields["valid_for"].choices)[str(seconds)]
        return JsonResponse({"url": url, "valid_for": label}, headers=NO_STORE)
    response = _page(
        request,
        image,
        request.POST,
        validity=validity,
        signed_url=url,
        signed_problems=problems,
    )
    response["Cache-Control"] = "no-store"
    return response
