"""Image actors: thin, taking ids, each safe to run twice."""

import dramatiq

from images.services.deletion import image_purge_objects
from images.services.direct import image_poll_direct_upload
from images.services.downloads import download_job_build
from images.services.maintenance import reconcile
from images.services.processing import image_process
from imgwire_site.broker import broker  # noqa: F401  (the broker must exist before actors)

IMAGES_QUEUE = "images"


@dramatiq.actor(queue_name=IMAGES_QUEUE, max_retries=5, min_backoff=1000, time_limit=300_000)
def process_image(image_id: str) -> None:
    image_process(image_id)


@dramatiq.actor(queue_name=IMAGES_QUEUE, max_retries=10, min_backoff=1000)
def purge_image_objects(environment_id: str, image_id: str) -> None:
    image_purge_objects(environment_id, image_id)


@dramatiq.actor(queue_name=IMAGES_QUEUE, max_retries=0, time_limit=600_000)
def reconcile_images() -> None:
    reconcile()


@dramatiq.actor(queue_name=IMAGES_QUEUE, max_retries=3, min_backoff=1000)
def poll_direct_upload(image_id: str, attempt: int = 0) -> None:
    image_poll_direct_upload(image_id, attempt)


@dramatiq.actor(queue_name="downloads", max_retries=3, min_backoff=5000, time_limit=3_600_000)
def build_download(job_id: str) -> None:
    download_job_build(job_id)
