"""Self-healing: the periodic reconciler.

Every step is idempotent and safe with two reconcilers running at once: re-enqueueing is
harmless because processing claims with a conditional UPDATE, and deletes of rows and
objects that are already gone are no-ops.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import Q
from django.utils import timezone

from images.models import Image, ImageStatus, incoming_key
from images.services.downloads import download_jobs_expire
from images.storage import delete_object
from imgwire_site.tasks import enqueue_on_commit

logger = logging.getLogger(__name__)
BATCH = 500
# Bytes that arrived but whose message has not been picked up for this long are assumed
# lost (broker down at enqueue time, message dropped) and re-sent.
LOST_MESSAGE_AFTER = timedelta(minutes=2)


@dataclass
class ReconcileReport:
    requeued: int = 0
    expired: int = 0
    orphans_removed: int = 0
    downloads_expired: int = 0

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def images_requeue_stuck(now=None) -> int:
    """PENDING-with-bytes whose message was lost, and PROCESSING abandoned by a dead worker."""
    from images.tasks import process_image

    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.IMGWIRE_PROCESSING_STALE_SECONDS)
    ids = list(
        Image.objects.alive()
        .filter(
            Q(status=ImageStatus.PENDING, bytes_received_at__lt=now - LOST_MESSAGE_AFTER)
            | Q(status=ImageStatus.PROCESSING, processing_started_at__lt=stale)
        )
        .values_list("id", flat=True)[:BATCH]
    )
    for image_id in ids:
        enqueue_on_commit(process_image, str(image_id))
    return len(ids)


def images_expire_abandoned(now=None) -> int:
    """Records that never received bytes within IMGWIRE_ABANDONED_UPLOAD_SECONDS are
    removed with anything a half-finished PUT left behind."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.IMGWIRE_ABANDONED_UPLOAD_SECONDS)
    ingest_cutoff = now - timedelta(seconds=settings.IMGWIRE_UPLOAD_URL_TTL_SECONDS)
    rows = list(
        Image.objects.filter(
            status=ImageStatus.PENDING, bytes_received_at__isnull=True, created_at__lt=cutoff
        )
        .filter(Q(ingest_started_at__isnull=True) | Q(ingest_started_at__lt=ingest_cutoff))
        .values_list("id", "environment_id")[:BATCH]
    )
    expired = 0
    for image_id, environment_id in rows:
        # Conditional delete: a PUT that claimed the record since we read it keeps it.
        deleted, _ = (
            Image.objects.filter(id=image_id, bytes_received_at__isnull=True)
            .filter(Q(ingest_started_at__isnull=True) | Q(ingest_started_at__lt=ingest_cutoff))
            .delete()
        )
        if deleted:
            delete_object(incoming_key(environment_id, image_id))
            expired += 1
    return expired


def _walk(prefix: str):
    """Yield (environment_id, object_name) for objects under ``prefix/<env>/<name>``."""
    try:
        environments, _ = default_storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return
    for environment_id in environments:
        try:
            _, names = default_storage.listdir(f"{prefix}/{environment_id}")
        except (FileNotFoundError, NotADirectoryError):
            continue
        for name in names:
            yield environment_id, name


def objects_remove_orphans(now=None) -> int:
    """Delete stored originals and incoming bytes that no live record needs.

    An incoming object is needed while its image is PENDING or PROCESSING; an original while
    its image is alive. Objects whose name is not an image id are left alone.
    """
    removed = 0
    for prefix, needed_statuses in (
        ("incoming", (ImageStatus.PENDING, ImageStatus.PROCESSING)),
        ("originals", tuple(ImageStatus.values)),
    ):
        batch: list[tuple[str, str]] = []
        for entry in _walk(prefix):
            batch.append(entry)
            if len(batch) >= BATCH:
                removed += _remove_unneeded(prefix, batch, needed_statuses)
                batch = []
        if batch:
            removed += _remove_unneeded(prefix, batch, needed_statuses)
    return removed


def _remove_unneeded(prefix: str, entries: list[tuple[str, str]], needed_statuses) -> int:
    candidates = {}
    for environment_id, name in entries:
        try:
            candidates[uuid.UUID(name)] = environment_id
        except ValueError:
            continue
    needed = set(
        Image.objects.alive()
        .filter(id__in=candidates, status__in=needed_statuses)
        .values_list("id", flat=True)
    )
    removed = 0
    for image_id, environment_id in candidates.items():
        if image_id in needed:
            continue
        # Re-check right before deleting: an upload may have been created since the read.
        if Image.objects.alive().filter(id=image_id, status__in=needed_statuses).exists():
            continue
        delete_object(f"{prefix}/{environment_id}/{image_id}")
        removed += 1
    return removed


def reconcile(now=None) -> ReconcileReport:
    report = ReconcileReport(
        requeued=images_requeue_stuck(now),
        expired=images_expire_abandoned(now),
        orphans_removed=objects_remove_orphans(now),
        downloads_expired=download_jobs_expire(now),
    )
    if any(report.as_dict().values()):
        logger.info("reconcile: %s", report.as_dict())
    return report
