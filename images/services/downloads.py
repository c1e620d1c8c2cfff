"""Bulk zip downloads: a job row, an archive built in the background, a short-lived URL."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from environments.quotas import check_organization_in_good_standing
from environments.webhooks.events import DOWNLOAD_FAILED, DOWNLOAD_READY, download_event_emit
from images.downloads.archive import ArchiveEntry, ArchiveSourceMissing, sanitise_entry_names
from images.downloads.archive import write_archive as write_zip
from images.models import DownloadStatus, Image, ImageDownloadJob, ImageStatus
from images.services.leases import holder_is_gone, lease_deadline, lease_holder, lease_kept
from images.storage import delete_object
from imgwire_site import domain
from imgwire_site.domain import Refusal

logger = logging.getLogger(__name__)
MAX_DOWNLOAD_IDS = 1000
DOWNLOAD_SALT = "imgwire.download.v1"


def download_job_create(*, environment, image_ids: list) -> ImageDownloadJob:
    check_organization_in_good_standing(environment.organization)
    ids = list(dict.fromkeys(image_ids))
    found = {
        image_id: (status, size)
        for image_id, status, size in Image.objects.for_environment(environment)
        .filter(id__in=ids)
        .values_list("id", "status", "size_bytes")
    }
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise Refusal(
            domain.NOT_FOUND,
            f"{len(missing)} of the image_ids were not found in this environment "
            f"(first: {missing[0]}); no download was created.",
        )
    not_ready = [(str(i), found[i][0]) for i in ids if found[i][0] != ImageStatus.READY]
    if not_ready:
        raise Refusal(
            domain.INVALID_VALUE,
            f"{len(not_ready)} of the images are not READY (first: {not_ready[0][0]} is "
            f"{not_ready[0][1]}); only READY images can be downloaded.",
            field="image_ids",
        )
    total = sum(size for _, size in found.values())
    if total > settings.IMGWIRE_DOWNLOAD_MAX_BYTES:
        raise Refusal(
            domain.TOO_LARGE,
            f"These images add up to {total} bytes; one download may hold at most "
            f"{settings.IMGWIRE_DOWNLOAD_MAX_BYTES} bytes. Split them into several downloads.",
            field="image_ids",
            limit=settings.IMGWIRE_DOWNLOAD_MAX_BYTES,
        )
    from images.services.recovery import download_job_send

    with transaction.atomic():
        job = ImageDownloadJob.objects.create(
            environment=environment,
            image_ids=[str(i) for i in ids],
            expires_at=timezone.now() + timedelta(seconds=settings.IMGWIRE_DOWNLOAD_TTL_SECONDS),
            enqueued_at=timezone.now(),
        )
        download_job_send(job.id)
    return job


def _claim(job_id) -> ImageDownloadJob | None:
    """PENDING (or PROCESSING whose lease lapsed: a dead worker) → PROCESSING, once."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.IMGWIRE_PROCESSING_STALE_SECONDS)
    claim = {
        "status": DownloadStatus.PROCESSING,
        "processing_started_at": now,
        "lease_expires_at": lease_deadline(now),
        "lease_holder": lease_holder(),
        "attempts": F("attempts") + 1,
        "updated_at": now,
    }
    alive = ImageDownloadJob.objects.filter(id=job_id, expires_at__gt=now)
    processing = Q(status=DownloadStatus.PROCESSING)
    claimed = alive.filter(
        Q(status=DownloadStatus.PENDING)
        | processing & Q(lease_expires_at__lt=now)
        # Claimed before leases existed: the fixed stale deadline still applies.
        | processing & Q(lease_expires_at=None, processing_started_at__lt=stale)
    ).update(**claim)
    if claimed != 1:
        held = alive.filter(status=DownloadStatus.PROCESSING).values_list(
            "lease_holder", "processing_started_at"
        )
        holder = next(iter(held), None)
        if holder is None or not holder_is_gone(holder[0]):
            return None
        claimed = alive.filter(
            status=DownloadStatus.PROCESSING,
            lease_holder=holder[0],
            processing_started_at=holder[1],
        ).update(**claim)
    return ImageDownloadJob.objects.get(id=job_id) if claimed == 1 else None


_EVENTS = {DownloadStatus.READY: DOWNLOAD_READY, DownloadStatus.FAILED: DOWNLOAD_FAILED}


def _finish(job: ImageDownloadJob, **fields) -> bool:
    """Write the outcome if our claim stands; a final one tells the webhooks (same
    transaction: the outbox)."""
    with transaction.atomic():
        done = (
            ImageDownloadJob.objects.filter(
                id=job.id,
                status=DownloadStatus.PROCESSING,
                processing_started_at=job.processing_started_at,
            ).update(updated_at=timezone.now(), **fields)
            == 1
        )
        if done and fields.get("status") in _EVENTS:
            download_event_emit(job, _EVENTS[fields["status"]])
    return done


def download_job_build(job_id) -> None:
    """Idempotent: only a PENDING (or abandoned) job is built, by one worker."""
    job = _claim(job_id)
    if job is None:
        return
    if job.attempts > settings.IMGWIRE_PROCESSING_MAX_ATTEMPTS:
        _finish(
            job,
            status=DownloadStatus.FAILED,
            failure_reason=f"Building the archive was interrupted {job.attempts - 1} times; "
            "request a new download.",
        )
        return
    claim = {"status": DownloadStatus.PROCESSING}
    claim["processing_started_at"] = job.processing_started_at
    with lease_kept(ImageDownloadJob, job.id, **claim):
        try:
            _build_claimed(job)
        except Exception:
            # Storage or the database failed, not the job: hand it back for the retry.
            _finish(job, status=DownloadStatus.PENDING, lease_expires_at=None)
            raise


def _build_claimed(job: ImageDownloadJob) -> None:
    images = {
        str(image.id): image
        for image in Image.objects.alive().filter(
            environment_id=job.environment_id, id__in=job.image_ids, status=ImageStatus.READY
        )
    }
    gone = [i for i in job.image_ids if i not in images]
    if gone:
        _finish(
            job,
            status=DownloadStatus.FAILED,
            failure_reason=f"{len(gone)} of the images were deleted after the download was "
            f"requested (first: {gone[0]}); request a new download.",
        )
        return
    ordered = [images[i] for i in job.image_ids]
    names = sanitise_entry_names([image.original_filename for image in ordered])
    entries = [
        ArchiveEntry(
            name=name, key=image.original_key, size=image.size_bytes, modified=image.created_at
        )
        for name, image in zip(names, ordered, strict=True)
    ]
    try:
        size = write_zip(job.archive_key, entries)
    except ArchiveSourceMissing as missing:
        _finish(
            job,
            status=DownloadStatus.FAILED,
            failure_reason=f"An original is missing from storage ({missing}).",
        )
        return
    if not _finish(job, status=DownloadStatus.READY, size_bytes=size):
        delete_object(job.archive_key)  # the job expired or was taken over meanwhile


def download_url_for(job: ImageDownloadJob) -> str | None:
    """A fresh short-lived URL for a READY job's archive (never past its expiry)."""
    if job.status != DownloadStatus.READY:
        return None
    remaining = int((job.expires_at - timezone.now()).total_seconds())
    lifetime = min(settings.IMGWIRE_DOWNLOAD_URL_TTL_SECONDS, remaining)
    if lifetime <= 0:
        return None
    filename = f"imgwire-{job.created_at:%Y%m%d-%H%M%S}.zip"
    if hasattr(default_storage, "bucket"):
        return default_storage.url(
            job.archive_key,
            parameters={
                "ResponseContentDisposition": f'attachment; filename="{filename}"',
                "ResponseContentType": "application/zip",
            },
            expire=lifetime,
        )
    signature = signing.dumps({"j": str(job.id), "e": lifetime}, salt=DOWNLOAD_SALT)
    return f"{settings.IMGWIRE_PUBLIC_URL}/downloads/{job.id}?signature={signature}"


def read_download_signature(job_id, signature: str) -> ImageDownloadJob | None:
    try:
        claims = signing.loads(
            signature, salt=DOWNLOAD_SALT, max_age=settings.IMGWIRE_DOWNLOAD_URL_TTL_SECONDS
        )
    except signing.BadSignature:
        return None
    if not isinstance(claims, dict) or claims.get("j") != str(job_id):
        return None
    return ImageDownloadJob.objects.filter(
        id=job_id, status=DownloadStatus.READY, expires_at__gt=timezone.now()
    ).first()


def download_jobs_expire(now=None) -> int:
    """Remove expired archives and their jobs."""
    now = now or timezone.now()
    expired = 0
    for job in ImageDownloadJob.objects.expired(now)[:500]:
        delete_object(job.archive_key)
        deleted, _ = ImageDownloadJob.objects.filter(id=job.id, expires_at__lt=now).delete()
        expired += deleted
    return expired
