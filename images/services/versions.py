"""Versions: an upload that overwrites a file becomes that file's next version.

The overwritten image keeps its id and its CDN URL; its bytes are replaced, the earlier
bytes are kept under ``versions/`` with an ImageVersion row, and its variants are purged.
The upload itself is a staging image (``replaces`` set) verified like any other; once READY
it is promoted here and removed. Promotion is idempotent and claims the replaced image,
so two overwrites of one file write one version each, in turn.
"""

import contextlib
import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from environments.webhooks.events import IMAGE_READY, IMAGE_UPDATED, image_event_emit
from images.models import (
    Image,
    ImageStatus,
    ImageTag,
    ImageVersion,
    variants_prefix,
    versions_prefix,
)
from images.services.library import image_tags_write
from images.storage import delete_object, delete_prefix, open_stream, replace_file
from imgwire_site.tasks import enqueue_on_commit

logger = logging.getLogger(__name__)
# A promotion copies two objects; a claim older than this belongs to a dead worker.
CLAIM_STALE = timedelta(minutes=2)
# What the new version brings from its upload; tags and custom metadata follow the
# upload's overwrite flags.
VERSION_FIELDS = (
    "original_filename",
    "extension",
    "mime_type",
    "size_bytes",
    "width",
    "height",
    "frames",
    "is_animated",
    "has_alpha",
    "orientation",
    "exif_data",
    "hash_sha256",
    "is_private",
    "custom_coordinates",
)


class VersionBusy(Exception):
    """Another version of the same file is being written; retry shortly."""


def _copy(source_key: str, target_key: str) -> None:
    source, _ = open_stream(source_key)
    with contextlib.closing(source):
        replace_file(target_key, source)


def _claim(image_id) -> bool:
    now = timezone.now()
    return (
        Image.objects.filter(id=image_id)
        .filter(Q(versioning_since__isnull=True) | Q(versioning_since__lt=now - CLAIM_STALE))
        .update(versioning_since=now)
        == 1
    )


def _standalone(staging: Image) -> Image:
    """The file it was to replace is gone: the upload stays a file of its own."""
    with transaction.atomic():
        Image.objects.filter(id=staging.id).update(replaces=None, overwrite={})
        staging.replaces_id = None
        image_event_emit(staging, IMAGE_READY)
    return staging


def image_version_promote(staging_id) -> Image | None:
    """Make a READY staging upload the next version of the image it replaces; returns
    that image (or the upload itself when there is nothing left to replace)."""
    staging = (
        Image.objects.alive()
        .filter(id=staging_id, status=ImageStatus.READY, replaces__isnull=False)
        .first()
    )
    if staging is None:
        return image_promoted_to(staging_id)
    target = (
        Image.objects.alive()
        .filter(id=staging.replaces_id, environment_id=staging.environment_id)
        .first()
    )
    if target is None or target.status != ImageStatus.READY:
        return _standalone(staging)
    if not _claim(target.id):
        raise VersionBusy(str(target.id))
    try:
        target.refresh_from_db()
        archive_key = f"{versions_prefix(target.environment_id, target.id)}{target.version_id}"
        _copy(target.original_key, archive_key)
        _copy(staging.original_key, target.original_key)
        now = timezone.now()
        fields = {name: getattr(staging, name) for name in VERSION_FIELDS}
        if staging.overwrite.get("custom_metadata", True):
            fields["custom_metadata"] = staging.custom_metadata
        with transaction.atomic():
            ImageVersion.objects.create(
                image=target,
                number=target.version,
                version_id=target.version_id,
                mime_type=target.mime_type,
                size_bytes=target.size_bytes,
                width=target.width,
                height=target.height,
                hash_sha256=target.hash_sha256,
                storage_key=archive_key,
                created_at=target.processed_metadata_at or target.created_at,
            )
            Image.objects.filter(id=target.id).update(
                **fields,
                version=F("version") + 1,
                version_id=staging.id,
                processed_metadata_at=now,
                updated_at=now,
            )
            if staging.overwrite.get("tags", True):
                image_tags_write(target, list(staging.tags))
            ImageTag.objects.filter(image=staging).delete()
            Image.objects.filter(id=staging.id).update(deleted_at=now, updated_at=now)
            image_event_emit(target, IMAGE_UPDATED)
    finally:
        Image.objects.filter(id=target.id).update(versioning_since=None)
    # Renders of the earlier bytes are stale (their keys carry the version, so none is
    # served meanwhile); the upload's own copy is not needed any more.
    delete_prefix(variants_prefix(target.environment_id, target.id))
    delete_object(staging.original_key)
    logger.info("image %s: version %s from upload %s", target.id, target.version + 1, staging.id)
    return Image.objects.with_environment().get(id=target.id)


def image_version_promote_soon(staging_id) -> None:
    """Promote now if the file is free, else leave it to the actor's retries."""
    try:
        image_version_promote(staging_id)
    except VersionBusy:
        from images.tasks import promote_version

        enqueue_on_commit(promote_version, str(staging_id))


def staging_uploads_promote(now=None) -> int:
    """The reconciler's step: promotions a crash interrupted are sent again."""
    from images.tasks import promote_version

    ids = list(staging_uploads_unpromoted(now).values_list("id", flat=True)[:500])
    for staging_id in ids:
        enqueue_on_commit(promote_version, str(staging_id))
    return len(ids)


def image_promoted_to(staging_id) -> Image | None:
    """The image a staging upload became a version of, once promoted; else None."""
    return (
        Image.objects.alive()
        .with_environment()
        .filter(Q(version_id=staging_id) | Q(versions__version_id=staging_id))
        .exclude(id=staging_id)
        .first()
    )


def image_versions(image: Image) -> list[ImageVersion]:
    return list(ImageVersion.objects.filter(image=image).order_by("-number"))


def staging_uploads_unpromoted(now=None):
    """READY staging uploads a crash left unpromoted (the reconciler promotes them)."""
    now = now or timezone.now()
    return Image.objects.alive().filter(
        status=ImageStatus.READY,
        replaces__isnull=False,
        processed_metadata_at__lt=now - timedelta(minutes=1),
    )
