"""The dashboard's image page: a sized preview, the facts, the URL builder (the library
part, tags/folder/privacy/signed URL, is views_library.py)."""

from urllib.parse import urlencode

from django.shortcuts import render
from django.urls import reverse

from images.forms import UrlBuilderForm, form_problems
from images.views_library import image_or_404
from imgwire_site.dashboard import member_view


@member_view()
def image_detail(request, image_id):
    image = image_or_404(request, image_id)
    builder = UrlBuilderForm(request.GET or None)
    query = builder.query()
    encoded = urlencode(query)
    preview_url = image.cdn_url + (f"?{encoded}" if query else "")
    # Previews go through the dashboard (they work while public delivery is refused) and
    # are sized: the original of a big photo is tens of megabytes.
    own_preview = reverse(
        "image-preview", kwargs={"environment_id": request.environment.id, "image_id": image.id}
    )
    problems = form_problems(builder) if builder.is_bound and not builder.is_valid() else []
    return render(
        request,
        "dashboard/image_detail.html",
        {
            "image": image,
            "builder": builder,
            "preview_url": preview_url,
            "large_preview_url": f"{own_preview}?preset=large",
            "builder_preview_url": f"{own_preview}?{encoded}" if query else None,
            "problems": problems,
        },
        status=400 if problems else 200,
    )
