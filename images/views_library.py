"""Dashboard pages for the library (docs/library.md): tags, folders, the private flag and
the image page, and the grid's tag and folder filters.

Any member may do these, as any member may delete an image (images/views.py): they change
what an image is called and who can fetch it, never who may manage the environment."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from images.forms import LibraryFilterForm
from images.models import Image
from images.services.library import folders_of, image_tags_update, tags_parse
from images.services.placement import image_move, image_privacy_set
from imgwire_site import domain
from imgwire_site.dashboard import member_view
from imgwire_site.domain import Refusal

# The images page's query, by environment, for the image page's way back (images/views.py).
IMAGES_BACK_SESSION_KEY = "dashboard_images_back"


def library_browse(request, queryset):
    """The grid narrowed by ``?tag=`` and ``?folder=``; returns the queryset, the template's
    context and one sentence per filter that was not applied. Folders are listed only when
    browsing (``?folder=`` given), so the plain grid costs no extra query."""
    asked = {name: request.GET[name] for name in ("tag", "folder") if request.GET.get(name)}
    form = LibraryFilterForm(asked)
    problems = []
    if not form.is_valid():
        for name, errors in form.errors.items():
            problems.append(
                f"{name.capitalize()} \u201c{asked.get(name, '')[:100]}\u201d was ignored: "
                f"{' '.join(errors)}"
            )
        form = LibraryFilterForm({k: v for k, v in asked.items() if k not in form.errors})
        form.is_valid()
    queryset = form.apply(queryset)
    tag = form.cleaned_data.get("tag") or ""
    folder = form.cleaned_data.get("folder") or ""
    crumbs, children = [], []
    if folder:
        levels = [] if folder == "/" else folder.strip("/").split("/")
        crumbs = [("/" + "/".join(levels[: i + 1]), level) for i, level in enumerate(levels)]
        children = [
            (path, path.rsplit("/", 1)[-1]) for path in folders_of(request.environment, folder)
        ]
    kept = request.GET.copy()
    for name in ("tag", "folder", "page"):
        kept.pop(name, None)
    context = {
        "library_tag": tag,
        "library_folder": folder,
        "library_crumbs": crumbs,
        "library_children": children,
        # The grid's other filters, carried when the library filters change.
        "library_kept": [(k, v) for k, values in kept.lists() for v in values],
        # Links into folders keep every other filter, the tag included.
        "library_folder_query": without(request.GET, "folder", "page"),
        "library_tag_query": without(request.GET, "tag", "page"),
    }
    return queryset, context, problems


def without(query, *names) -> str:
    """``query`` (a QueryDict) encoded without ``names``: a link that changes only them."""
    kept = query.copy()
    for name in names:
        kept.pop(name, None)
    return kept.urlencode()


def image_or_404(request, image_id) -> Image:
    """The image named in a dashboard URL, looked up inside the current environment only (an
    id from elsewhere is the same 404 as a missing one)."""
    image = Image.objects.for_environment(request.environment).filter(id=image_id).first()
    if image is None:
        raise Http404("No such image in this environment.")
    image.environment = request.environment  # cdn_url without another query
    return image


def _back(request, image_id):
    return redirect("image-detail", environment_id=request.environment.id, image_id=image_id)


def _refused(request, image_id, refusal: Refusal):
    if refusal.code == domain.NOT_FOUND:
        raise Http404("No such image in this environment.")
    messages.error(request, refusal.message)
    return _back(request, image_id)


@member_view()
@require_POST
def image_tags_view(request, image_id):
    removing = [tag for tag in request.POST.getlist("remove") if tag]
    try:
        adding = tags_parse(request.POST.get("add", ""), field="tags")
        if not adding and not removing:
            messages.error(request, "Enter a tag to add (several: separate them with commas).")
            return _back(request, image_id)
        image = image_tags_update(
            environment=request.environment, image_id=image_id, add=adding, remove=removing
        )
    except Refusal as refusal:
        return _refused(request, image_id, refusal)
    shown = ", ".join(image.tags) or "none"
    messages.success(request, f"Tags saved: {shown}.")
    return _back(request, image_id)


@member_view()
@require_POST
def image_move_view(request, image_id):
    try:
        image = image_move(
            environment=request.environment,
            image_id=image_id,
            folder=request.POST.get("folder", ""),
        )
    except Refusal as refusal:
        return _refused(request, image_id, refusal)
    messages.success(request, f"{image.original_filename} is now at {image.file_path}.")
    return _back(request, image_id)


@member_view()
@require_POST
def image_privacy_view(request, image_id):
    wanted = request.POST.get("is_private")
    if wanted not in ("true", "false"):
        messages.error(request, "Choose private or public.")
        return _back(request, image_id)
    try:
        image = image_privacy_set(
            environment=request.environment, image_id=image_id, is_private=wanted == "true"
        )
    except Refusal as refusal:
        return _refused(request, image_id, refusal)
    if image.is_private:
        messages.success(
            request,
            f"{image.original_filename} is private: its URL answers 404 unless signed. "
            "Copies a CDN or browser kept while it was public stay until they are purged.",
        )
    else:
        messages.success(request, f"{image.original_filename} is public.")
    return _back(request, image_id)
