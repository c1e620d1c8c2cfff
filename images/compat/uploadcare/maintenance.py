"""The protocol's share of the reconciler (images.services.maintenance.reconcile calls it).

Each step is bounded per tick and safe to run from several schedulers at once.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from images.compat.uploadcare.models import FetchStatus, UploadcareFetch, UploadcareMultipart
from images.compat.uploadcare.s3_parts import s3_multipart_abort
from images.compat.uploadcare.services import uploadcare_remove_unstored
from images.services.recovery import send_now
from images.storage import delete_prefix

BATCH = 500
# A fetch is bounded by IMGWIRE_URL_FETCH_TIMEOUT_SECONDS; one still "progress" past that
# (and a grace for storing the bytes) lost its worker, one still "waiting" that long its
# message. The recovery step runs every few seconds, so this is also how long it takes.
FETCH_GRACE = timedelta(seconds=15)


@dataclass
class UploadcareReport:
    unstored_removed: int = 0
    multipart_parts_removed: int = 0
    fetches_resent: int = 0


def _abandoned_multipart(now) -> int:
    """Parts of uploads that were never completed: their URLs have expired."""
    lapse = now - timedelta(seconds=settings.IMGWIRE_UPLOAD_URL_TTL_SECONDS * 2)
    sessions = UploadcareMultipart.objects.filter(
        completed_at__isnull=True, created_at__lt=lapse
    ).select_related("image")[:BATCH]
    removed = 0
    for session in sessions:
        if session.s3_upload_id:
            s3_multipart_abort(session)  # S3 keeps the parts of an open upload until then
        else:
            delete_prefix(session.parts_prefix)
        UploadcareMultipart.objects.filter(pk=session.pk).delete()
        removed += 1
    return removed


def _resend_stuck_fetches(now) -> int:
    from images.compat.uploadcare.tasks import fetch_from_url

    stale = now - timedelta(seconds=settings.IMGWIRE_URL_FETCH_TIMEOUT_SECONDS) - FETCH_GRACE
    stuck = list(
        UploadcareFetch.objects.filter(
            status=FetchStatus.WAITING, created_at__lt=stale
        ).values_list("token", flat=True)[:BATCH]
    ) + list(
        UploadcareFetch.objects.filter(
            status=FetchStatus.PROGRESS, started_at__lt=stale
        ).values_list("token", flat=True)[:BATCH]
    )
    resent = 0
    for token in stuck:
        # Back to waiting only if nothing finished it meanwhile; created_at restarts the
        # clock, so a fetch whose message was only queued is re-sent once, not every tick.
        # A doubled message is harmless: the first claim wins, the other finds no work.
        if UploadcareFetch.objects.filter(
            token=token, status__in=[FetchStatus.WAITING, FetchStatus.PROGRESS]
        ).update(status=FetchStatus.WAITING, started_at=None, created_at=now):
            resent += send_now(fetch_from_url, str(token))  # else: again in a grace
    return resent


def uploadcare_recover(now=None) -> int:
    """The frequent step (images.services.maintenance.recover): stuck fetches re-sent."""
    return _resend_stuck_fetches(now or timezone.now())


def uploadcare_reconcile(now=None) -> UploadcareReport:
    now = now or timezone.now()
    return UploadcareReport(
        unstored_removed=uploadcare_remove_unstored(now),
        multipart_parts_removed=_abandoned_multipart(now),
        fetches_resent=_resend_stuck_fetches(now),
    )
