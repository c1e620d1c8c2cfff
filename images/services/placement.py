"""Where an image sits in the library and who may fetch it: moving it to another folder,
making it private or public (docs/library.md). The dashboard calls these; every door may."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from environments.webhooks.events import IMAGE_UPDATED, image_event_emit
from images.models import Image
from images.services.library import folder_ensure, folder_normalize
from imgwire_site import domain
from imgwire_site.domain import Refusal


def _locked(environment, image_id) -> Image:
    image = (
        Image.objects.for_environment(environment)
        .select_for_update()
        .filter(id=image_id, replaces__isnull=True)
        .first()
    )
    if image is None:
        raise Refusal(domain.NOT_FOUND, "Image not found")
    return image


def image_move(*, environment, image_id, folder) -> Image:
    """Move a live image into ``folder`` (created with its parents if missing). An image
    that holds its file path alone (an ImageKit file) is refused CONFLICT when another
    live file of the environment already holds the same path there."""
    path = folder_normalize(folder)
    with transaction.atomic():
        image = _locked(environment, image_id)
        if image.folder == path:
            return image
        folder_ensure(environment=environment, path=path)
        try:
            # Only the unique constraint sees a file claimed by a concurrent move or
            # upload; the savepoint keeps the outer transaction usable to refuse.
            with transaction.atomic():
                Image.objects.filter(id=image.id).update(folder=path, updated_at=timezone.now())
        except IntegrityError:
            raise Refusal(
                domain.CONFLICT,
                f"{path.rstrip('/')}/{image.file_path.rsplit('/', 1)[-1]} is already the path "
                "of another file; rename or move that one first.",
                field="folder",
            ) from None
        image.folder = path
        image_event_emit(image, IMAGE_UPDATED)
    return image


def image_privacy_set(*, environment, image_id, is_private: bool) -> Image:
    """Make an image private (its original and ad-hoc transformations answer 404 unless
    signed) or public again. Delivery reads the flag on every request, so the origin
    follows at once; caches that kept a public answer do not (docs/library.md)."""
    if not isinstance(is_private, bool):
        raise Refusal(domain.INVALID_VALUE, "is_private must be true or false.", field="is_private")
    with transaction.atomic():
        image = _locked(environment, image_id)
        if image.is_private == is_private:
            return image
        Image.objects.filter(id=image.id).update(is_private=is_private, updated_at=timezone.now())
        image.is_private = is_private
        image_event_emit(image, IMAGE_UPDATED)
    return image
