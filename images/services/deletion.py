"""Deleting images: the rows now, their objects right after the transaction commits."""

from django.db import transaction
from django.utils import timezone

from environments.webhooks.events import IMAGE_DELETED, images_event_emit
from images.models import (
    Image,
    ImageTag,
    incoming_key,
    original_key,
    variants_prefix,
    versions_prefix,
)
from images.storage import delete_object, delete_prefix
from imgwire_site import domain
from imgwire_site.domain import Refusal
from imgwire_site.tasks import enqueue_on_commit

MAX_BULK_DELETE = 1000


def _mark_deleted(environment, ids) -> list:
    """Soft-delete; returns the ids that were alive. The idempotency key is released so a
    client may reuse it for a new upload."""
    now = timezone.now()
    alive = list(
        Image.objects.for_environment(environment).filter(id__in=ids).values_list("id", flat=True)
    )
    Image.objects.filter(id__in=alive, deleted_at__isnull=True).update(
        deleted_at=now, updated_at=now, idempotency_key=None
    )
    # Tag rows exist for live images only: a tag's page is read from them alone.
    ImageTag.objects.filter(image_id__in=alive).delete()
    images_event_emit(environment, alive, IMAGE_DELETED)
    from images.tasks import purge_image_objects

    for image_id in alive:
        enqueue_on_commit(purge_image_objects, str(environment.id), str(image_id))
    return alive


@transaction.atomic
def image_delete(*, environment, image_id) -> None:
    """Repeating a delete of this environment's image is harmless; an unknown id is a 404."""
    if not Image.objects.filter(environment=environment, id=image_id).exists():
        raise Refusal(domain.NOT_FOUND, f"Image {image_id} was not found in this environment.")
    _mark_deleted(environment, [image_id])


@transaction.atomic
def images_bulk_delete(*, environment, image_ids: list) -> int:
    ids = list(dict.fromkeys(image_ids))
    known = set(
        Image.objects.filter(environment=environment, id__in=ids).values_list("id", flat=True)
    )
    missing = [str(i) for i in ids if i not in known]
    if missing:
        # Refuse the whole request: deleting part of a batch would leave the caller guessing.
        raise Refusal(
            domain.NOT_FOUND,
            f"{len(missing)} of the image_ids were not found in this environment "
            f"(first: {missing[0]}); nothing was deleted.",
        )
    return len(_mark_deleted(environment, ids))


def image_purge_objects(environment_id, image_id) -> None:
    """Remove every object of a deleted image. Safe to run any number of times."""
    if Image.objects.alive().filter(id=image_id).exists():
        return
    delete_object(incoming_key(environment_id, image_id))
    delete_object(original_key(environment_id, image_id))
    delete_prefix(variants_prefix(environment_id, image_id))
    delete_prefix(versions_prefix(environment_id, image_id))
