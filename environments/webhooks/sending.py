"""One HTTP POST to a subscriber, through the remote fetcher (images.remote.fetcher.post):
the target is resolved and refused if any address is private, loopback or metadata,
redirects are not followed, and the whole attempt is bounded by one deadline."""

import http.client
import time
from dataclasses import dataclass

from django.conf import settings

from images.remote import fetcher

EXCERPT = 500


@dataclass
class Outcome:
    status_code: int | None
    latency_ms: int
    excerpt: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def post(url: str, body: bytes, headers: dict, *, timeout: float | None = None) -> Outcome:
    started = time.monotonic()
    timeout = timeout or settings.IMGWIRE_WEBHOOK_TIMEOUT_SECONDS
    # Empty in production; the receiver tests allow loopback explicitly.
    allowed = settings.IMGWIRE_WEBHOOK_ALLOWED_NETWORKS
    limits = fetcher.FetchLimits(
        header_timeout=timeout, total_deadline=timeout, allowed_networks=allowed
    )
    try:
        status, answer = fetcher.post(
            url,
            body,
            {"User-Agent": "Imgwire-Webhooks/1.0", "Content-Type": "application/json", **headers},
            limits,
            subject="The webhook URL",
            answer_bytes=EXCERPT,
        )
        return Outcome(status, _ms(started), answer.decode("utf-8", "replace"))
    except fetcher.FetchError as error:
        return Outcome(None, _ms(started), error=error.message[:EXCERPT])
    except (OSError, http.client.HTTPException, TimeoutError) as error:
        return Outcome(None, _ms(started), error=f"{type(error).__name__}: {error}"[:EXCERPT])


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
