"""Self-healing: the periodic reconciler.

Every step is idempotent and safe with two reconcilers running at once: re-enqueueing is
harmless because processing claims with a conditional UPDATE, and deletes of rows and
objects that are already gone are no-ops.
"""

import contextlib
import logging
import os
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from environments.upload_quota import upload_slot_release
from images.models import Image, ImageDownloadJob, ImageStatus, incoming_key
from images.services.downloads import download_jobs_expire
from images.services.recovery import download_jobs_recover, send_now
from images.storage import delete_object, delete_prefix, local_path

logger = logging.getLogger(__name__)
BATCH = 500
# A processing message unclaimed for this long may be lost (broker down at enqueue time,
# message dropped, the embedded broker's process gone); whether it is, see
# images_requeue_stuck.
LOST_MESSAGE_AFTER = timedelta(minutes=2)
# Bytes received this long ago with no message ever recorded as sent: the send failed
# (the broker was down), so the message is sent again at the next tick.
NEVER_SENT_AFTER = timedelta(seconds=10)


@dataclass
class ReconcileReport:
    requeued: int = 0
    expired: int = 0
    orphans_removed: int = 0
    downloads_expired: int = 0
    variants_removed: int = 0
    archives_removed: int = 0
    uploadcare_unstored_removed: int = 0
    uploadcare_parts_removed: int = 0
    uploadcare_fetches_resent: int = 0
    downloads_resent: int = 0
    promotions_resent: int = 0
    tags_forgotten: int = 0
    webhooks_resent: int = 0
    webhook_events_pruned: int = 0

    def as_dict(self) -> dict:
        return self.__dict__.copy()


def image_record_enqueued(image_id, queued_at, queue: str) -> None:
    """The broker has the image's processing message (called by the enqueue middleware)."""
    Image.objects.filter(id=image_id, status=ImageStatus.PENDING).update(
        enqueued_at=queued_at, enqueued_to=queue
    )


def _lost_messages(now) -> list:
    """PENDING images with bytes whose processing message is lost, not merely queued.

    A burst can keep messages queued for many minutes, and re-sending those doubles the
    work. Queues are first in, first out, so a message unclaimed for LOST_MESSAGE_AFTER is
    taken for lost only when its queue shows it will not come: nothing was ever recorded
    as sent (the broker was down), the queue has since had a message sent after this one
    claimed (more than LOST_MESSAGE_AFTER ago, leaving room for prefetch and long jobs), or
    the queue has claimed nothing at all since this message was sent (idle, or the embedded
    broker's process is gone). A queue still working through older messages is left alone.
    """
    waiting = list(
        Image.objects.alive()
        .filter(status=ImageStatus.PENDING)
        .filter(
            Q(enqueued_at__isnull=True, bytes_received_at__lt=now - NEVER_SENT_AFTER)
            | Q(
                enqueued_at__lt=now - LOST_MESSAGE_AFTER,
                bytes_received_at__lt=now - LOST_MESSAGE_AFTER,
            )
        )
        .order_by("enqueued_at")
        .values_list("id", "enqueued_at", "enqueued_to")[:BATCH]
    )
    lost, progress = [], {}
    for image_id, enqueued_at, queue in waiting:
        if enqueued_at is None:
            lost.append((image_id, None))
            continue
        if queue not in progress:
            claims = Image.objects.filter(enqueued_to=queue, processing_started_at__isnull=False)
            last_claim = claims.aggregate(at=Max("processing_started_at"))["at"]
            # Claims since this queue's oldest waiting message was sent (the first seen),
            # of messages claimed after they were sent (not before a retry was).
            passed = (
                claims.filter(processing_started_at__gte=F("enqueued_at"))
                .filter(
                    processing_started_at__gte=enqueued_at,
                    processing_started_at__lt=now - LOST_MESSAGE_AFTER,
                )
                .aggregate(mark=Max("enqueued_at"))["mark"]
            )
            progress[queue] = (last_claim, passed)
        last_claim, passed = progress[queue]
        idle = last_claim is None or last_claim <= enqueued_at
        if idle or (passed is not None and passed > enqueued_at):
            lost.append((image_id, enqueued_at))
    return lost


def images_requeue_stuck(now=None) -> int:
    """PENDING-with-bytes whose message was lost, and PROCESSING whose lease lapsed (its
    worker died: a live worker renews it, images/services/leases.py)."""
    from images.tasks import process_image

    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.IMGWIRE_PROCESSING_STALE_SECONDS)
    requeued = 0
    for image_id, enqueued_at in _lost_messages(now):
        # Conditional: of two reconcilers at once, one re-sends (the middleware then
        # records the real time and queue).
        taken = Image.objects.filter(
            id=image_id, status=ImageStatus.PENDING, enqueued_at=enqueued_at
        ).update(enqueued_at=now)
        if not taken:
            continue
        if send_now(process_image, str(image_id)):
            requeued += 1
        else:  # the broker is still away: the next tick tries again
            Image.objects.filter(id=image_id, enqueued_at=now).update(enqueued_at=None)
    # Leases are renewed on the wall clock by other processes: judged against it, not
    # against a ``now`` moved forward to age the messages.
    lapsed = Q(lease_expires_at__lt=timezone.now())
    lapsed |= Q(lease_expires_at=None, processing_started_at__lt=stale)
    abandoned = list(
        Image.objects.alive()
        .filter(status=ImageStatus.PROCESSING)
        .filter(lapsed)
        .values_list("id", "processing_started_at")[:BATCH]
    )
    for image_id, started_at in abandoned:
        # Back to PENDING while the dead claim still stands: the new message is then
        # tracked like any other (re-sent once, not every tick, if it is lost too), and a
        # worker that was only slow finds its claim gone and writes nothing.
        if Image.objects.filter(
            id=image_id, status=ImageStatus.PROCESSING, processing_started_at=started_at
        ).update(status=ImageStatus.PENDING, enqueued_at=None, lease_expires_at=None):
            requeued += send_now(process_image, str(image_id))
    return requeued


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
        .values_list("id", "environment_id", "environment__organization_id", "created_at")[:BATCH]
    )
    expired = 0
    for image_id, environment_id, organization_id, created_at in rows:
        with transaction.atomic():  # the record and its upload slot go together
            # Conditional delete: a PUT that claimed the record since we read it keeps it.
            deleted, _ = (
                Image.objects.filter(id=image_id, bytes_received_at__isnull=True)
                .filter(Q(ingest_started_at__isnull=True) | Q(ingest_started_at__lt=ingest_cutoff))
                .delete()
            )
            if deleted:
                upload_slot_release(organization_id=organization_id, created_at=created_at)
        if deleted:
            delete_object(incoming_key(environment_id, image_id))
            expired += 1
    return expired


def _walk(prefix: str, *, folders: bool = False):
    """Yield (environment_id, name) for objects (``folders``: folders) under
    ``prefix/<env>/<name>``."""
    try:
        environments, _ = default_storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return
    for environment_id in environments:
        try:
            directories, files = default_storage.listdir(f"{prefix}/{environment_id}")
        except (FileNotFoundError, NotADirectoryError):
            continue
        for name in directories if folders else files:
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


def _batches(entries, parse, size: int = BATCH):
    """Lists of up to ``size`` (id, environment_id, name) for the entries whose name
    ``parse`` reads as an id; other names are not ours to judge, and are skipped."""
    batch = []
    for environment_id, name in entries:
        try:
            batch.append((parse(name), environment_id, name))
        except ValueError:
            continue
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _archive_job_id(name: str) -> uuid.UUID:
    stem, dot, extension = name.rpartition(".")
    if not dot or extension != "zip":
        raise ValueError(name)
    return uuid.UUID(stem)


def _remove_folder(prefix: str) -> None:
    delete_prefix(prefix)
    path = local_path(prefix.rstrip("/"))
    if path is None:
        return
    # A local folder outlives its files; left, it would be listed (and judged) every tick.
    for folder, _, _ in os.walk(path, topdown=False):
        with contextlib.suppress(OSError):  # not empty: something was written meanwhile
            os.rmdir(folder)


def variants_remove_orphans(limit: int = BATCH) -> int:
    """Delete the rendered variants (``variants/<env>/<image>/``) of images that are deleted
    or gone (a purge that failed, a row deleted outside the images service), up to
    ``limit`` images per tick. A live image's variants stay, whatever its status."""
    removed = 0
    for batch in _batches(_walk("variants", folders=True), uuid.UUID):
        alive = set(
            Image.objects.alive()
            .filter(id__in=[image_id for image_id, _, _ in batch])
            .values_list("id", flat=True)
        )
        for image_id, environment_id, name in batch:
            if image_id in alive or removed >= limit:
                continue
            # A deleted image never comes back to life, so no re-check is needed here.
            _remove_folder(f"variants/{environment_id}/{name}/")
            removed += 1
        if removed >= limit:
            break
    return removed


def archives_remove_orphans(limit: int = BATCH) -> int:
    """Delete zip archives (``downloads/<env>/<job>.zip``) whose download job no longer
    exists (expired jobs are removed with their archive by download_jobs_expire; this
    catches jobs deleted otherwise), up to ``limit`` per tick. A job's row is written
    before its archive, so an archive without a row is never one still being built;
    a partial file (``.writing-…``) is not an archive name, and is left alone."""
    removed = 0
    for batch in _batches(_walk("downloads"), _archive_job_id):
        jobs = set(
            ImageDownloadJob.objects.filter(id__in=[job_id for job_id, _, _ in batch]).values_list(
                "id", flat=True
            )
        )
        for job_id, environment_id, name in batch:
            if job_id in jobs or removed >= limit:
                continue
            delete_object(f"downloads/{environment_id}/{name}")
            removed += 1
        if removed >= limit:
            break
    return removed


def reconcile(now=None) -> ReconcileReport:
    # The compatible protocols build on the images services; imported here, not at the
    # top, so that this module stays importable from theirs.
    from environments.webhooks.services import deliveries_recover, webhook_events_prune
    from images.compat.uploadcare.maintenance import uploadcare_reconcile
    from images.services.library import tags_of_deleted_forget
    from images.services.versions import staging_uploads_promote

    uploadcare = uploadcare_reconcile(now)
    report = ReconcileReport(
        requeued=images_requeue_stuck(now),
        downloads_resent=download_jobs_recover(now),
        expired=images_expire_abandoned(now),
        orphans_removed=objects_remove_orphans(now),
        downloads_expired=download_jobs_expire(now),
        variants_removed=variants_remove_orphans(),
        archives_removed=archives_remove_orphans(),
        uploadcare_unstored_removed=uploadcare.unstored_removed,
        uploadcare_parts_removed=uploadcare.multipart_parts_removed,
        uploadcare_fetches_resent=uploadcare.fetches_resent,
        promotions_resent=staging_uploads_promote(now),
        tags_forgotten=tags_of_deleted_forget(),
        webhooks_resent=deliveries_recover(now=now),
        webhook_events_pruned=webhook_events_prune(now=now),
    )
    if any(report.as_dict().values()):
        logger.info("reconcile: %s", report.as_dict())
    return report


def recover(now=None) -> ReconcileReport:
    """The cheap, frequent part of reconciling: lost messages re-sent and lapsed claims
    taken over for every kind of job (a few indexed queries when there is nothing to do).
    The scheduler runs it every IMGWIRE_RECOVER_INTERVAL_SECONDS; the full reconcile,
    which also walks storage, every IMGWIRE_RECONCILE_INTERVAL_SECONDS."""
    from environments.webhooks.services import deliveries_recover
    from images.compat.uploadcare.maintenance import uploadcare_recover

    report = ReconcileReport(
        requeued=images_requeue_stuck(now),
        downloads_resent=download_jobs_recover(now),
        uploadcare_fetches_resent=uploadcare_recover(now),
        webhooks_resent=deliveries_recover(now=now),
    )
    if any(report.as_dict().values()):
        logger.info("recover: %s", report.as_dict())
    return report
