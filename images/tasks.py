"""Image actors: thin, taking ids, each safe to run twice."""

import logging
import os
import socket
from datetime import timedelta

import dramatiq
from django.utils import timezone
from dramatiq.middleware import Middleware

from images.services.deletion import image_purge_objects
from images.services.direct import image_poll_direct_upload
from images.services.downloads import download_job_build
from images.services.maintenance import image_record_enqueued, reconcile, recover
from images.services.processing import image_process
from imgwire_site.broker import broker, is_embedded, queue_name

IMAGES_QUEUE = queue_name("images")
DOWNLOADS_QUEUE = queue_name("downloads")
logger = logging.getLogger(__name__)


def queue_identity() -> str:
    """Which queue a message sent from here joins: a real broker's is shared by every
    process; the embedded broker's lives (and dies) in this one."""
    return f"{socket.gethostname()}:{os.getpid()}"[:100] if is_embedded() else ""


class RecordProcessingMessages(Middleware):
    """Every processing message, from whichever sender (uploads, ingest, retries, the
    reconciler), is recorded on its image once the broker has it."""

    def after_enqueue(self, broker, message, delay):
        if message.actor_name != "process_image" or not message.args:
            return
        queued_at = timezone.now() + timedelta(milliseconds=delay or 0)
        try:
            image_record_enqueued(message.args[0], queued_at, queue_identity())
        except Exception:  # the message is sent; without the record the reconciler is cautious
            logger.exception("could not record the processing message for %s", message.args[0])


if not any(isinstance(m, RecordProcessingMessages) for m in broker.middleware):
    broker.add_middleware(RecordProcessingMessages())


@dramatiq.actor(queue_name=IMAGES_QUEUE, max_retries=5, min_backoff=1000, time_limit=300_000)
def process_image(image_id: str) -> None:
    image_process(image_id)


@dramatiq.actor(queue_name=IMAGES_QUEUE, max_retries=10, min_backoff=500)
def promote_version(staging_id: str) -> None:
    from images.services.versions import image_version_promote

    image_version_promote(staging_id)  # VersionBusy: retried with backoff


@dramatiq.actor(queue_name=IMAGES_QUEUE, max_retries=10, min_backoff=1000)
def purge_image_objects(environment_id: str, image_id: str) -> None:
    image_purge_objects(environment_id, image_id)


@dramatiq.actor(queue_name=IMAGES_QUEUE, max_retries=0, time_limit=600_000)
def reconcile_images() -> None:
    reconcile()


@dramatiq.actor(queue_name=IMAGES_QUEUE, max_retries=0, time_limit=60_000)
def recover_jobs() -> None:
    recover()


@dramatiq.actor(queue_name=IMAGES_QUEUE, max_retries=3, min_backoff=1000)
def poll_direct_upload(image_id: str, attempt: int = 0) -> None:
    image_poll_direct_upload(image_id, attempt)


@dramatiq.actor(queue_name=DOWNLOADS_QUEUE, max_retries=3, min_backoff=5000, time_limit=3_600_000)
def build_download(job_id: str) -> None:
    download_job_build(job_id)
