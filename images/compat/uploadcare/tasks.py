"""Uploadcare's actors: thin, taking ids, each safe to run twice."""

import dramatiq

from images.compat.uploadcare.from_url import uploadcare_fetch_run
from imgwire_site.broker import queue_name  # (the broker must exist before actors)

UPLOADCARE_QUEUE = queue_name("uploadcare")


@dramatiq.actor(queue_name=UPLOADCARE_QUEUE, max_retries=3, min_backoff=1000, time_limit=120_000)
def fetch_from_url(token: str) -> None:
    uploadcare_fetch_run(token)
