"""Recovering download jobs: lost build messages re-sent, lapsed claims taken over.

Run by the reconciler (images/services/maintenance.py, ``recover``) every few seconds.
Claims are conditional UPDATEs (images/services/downloads.py), so a doubled message finds
no work; the attempt cap (IMGWIRE_PROCESSING_MAX_ATTEMPTS, applied when a job is claimed)
ends a job that keeps killing its workers as FAILED, with the reason.
"""

from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from images.models import DownloadStatus, ImageDownloadJob
from imgwire_site.tasks import enqueue_on_commit, send_quietly

BATCH = 200
# As for images (maintenance.py): no send ever confirmed this long after the job became
# PENDING means the send failed; a confirmed message unclaimed this long may be lost.
NEVER_SENT_AFTER = timedelta(seconds=10)
LOST_MESSAGE_AFTER = timedelta(minutes=2)


def send_now(actor, *args) -> bool:
    """Send a message, reporting (not raising) a broker that is away: the caller undoes
    its bookkeeping so that the next tick tries again."""
    if connection.in_atomic_block:  # never ahead of the rows it names
        enqueue_on_commit(actor, *args)
        return True
    return send_quietly(actor, *args)


def download_job_send(job_id) -> None:
    """Send a new job's build message once its row is committed; the job was created with
    ``enqueued_at`` set, which a failed send clears (the reconciler then re-sends)."""
    from images.tasks import build_download

    def send():
        if not send_now(build_download, str(job_id)):
            ImageDownloadJob.objects.filter(id=job_id, status=DownloadStatus.PENDING).update(
                enqueued_at=None
            )

    transaction.on_commit(send, robust=True)


def _queue_is_stuck_behind(enqueued_at, now) -> bool:
    """Whether a message sent at ``enqueued_at`` will not come: the downloads queue claimed
    nothing since and builds nothing now (idle), or claimed a message sent after it."""
    jobs = ImageDownloadJob.objects.all()
    if not jobs.filter(processing_started_at__gte=enqueued_at).exists():
        return not jobs.filter(status=DownloadStatus.PROCESSING, lease_expires_at__gt=now).exists()
    passed = jobs.filter(
        processing_started_at__lt=now - LOST_MESSAGE_AFTER, processing_started_at__gte=enqueued_at
    ).aggregate(mark=Max("created_at"))["mark"]
    return passed is not None and passed > enqueued_at


def download_jobs_recover(now=None) -> int:
    from images.tasks import build_download

    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.IMGWIRE_PROCESSING_STALE_SECONDS)
    alive = ImageDownloadJob.objects.filter(expires_at__gt=now)
    resent = 0
    # Leases are renewed on the wall clock by other processes: judged against it, not
    # against a ``now`` moved forward to age the messages.
    lapsed = Q(lease_expires_at__lt=timezone.now())
    lapsed |= Q(lease_expires_at=None, processing_started_at__lt=stale)
    abandoned = alive.filter(status=DownloadStatus.PROCESSING).filter(lapsed)
    for job_id, started_at in abandoned.values_list("id", "processing_started_at")[:BATCH]:
        # Back to PENDING while the dead claim stands; its message is then tracked below.
        if alive.filter(
            id=job_id, status=DownloadStatus.PROCESSING, processing_started_at=started_at
        ).update(status=DownloadStatus.PENDING, enqueued_at=now, updated_at=now):
            if send_now(build_download, str(job_id)):
                resent += 1
            else:
                alive.filter(id=job_id, enqueued_at=now).update(enqueued_at=None)
    waiting = alive.filter(status=DownloadStatus.PENDING).filter(
        Q(enqueued_at=None, updated_at__lt=now - NEVER_SENT_AFTER)
        | Q(enqueued_at__lt=now - LOST_MESSAGE_AFTER)
    )
    for job_id, enqueued_at in waiting.values_list("id", "enqueued_at")[:BATCH]:
        if enqueued_at is not None and not _queue_is_stuck_behind(enqueued_at, now):
            continue  # queued behind other builds: its message will come
        if not alive.filter(
            id=job_id, status=DownloadStatus.PENDING, enqueued_at=enqueued_at
        ).update(enqueued_at=now):
            continue  # another reconciler took it
        if send_now(build_download, str(job_id)):
            resent += 1
        else:
            alive.filter(id=job_id, enqueued_at=now).update(enqueued_at=None, updated_at=now)
    return resent
