"""The delivery actor: thin, takes a delivery id, safe to run twice (the claim is a lease)."""

import time

import dramatiq
from django.utils import timezone

from imgwire_site.broker import queue_name

from .batches import BATCH_SIZE, deliveries_claim, deliveries_record, deliveries_release, recorded
from .models import Delivery
from .sending import post
from .services import LEASE_MARGIN
from .signing import signed_request

WEBHOOKS_QUEUE = queue_name("webhooks")


def deliveries_attempt(
    *, delivery_id, now=None, timeout=None, attempt=None, limit: int = BATCH_SIZE
) -> list[Delivery]:
    """Attempt the delivery and the others its batch claims (batches.py); the network calls
    are outside any transaction (the claim commits first, the record after). ``attempt``:
    the delivery's attempt count when the message was sent; a message whose attempt this
    process has already recorded is dropped without a query. ``now`` fixes the clock
    (tests); otherwise each attempt is timed when it starts."""
    if attempt is not None and (delivery_id, attempt) in recorded:
        return []
    claimed_at = time.monotonic()
    batch = deliveries_claim(delivery_id=delivery_id, now=now or timezone.now(), limit=limit)
    kwargs = {} if timeout is None else {"timeout": timeout}
    sent = []
    try:
        for delivery in batch:
            # Stop at the first failure (the receiver is the same for the whole batch) and
            # before an attempt could outlive the lease (started within LEASE_MARGIN of the
            # claim, it ends by the timeout within the lease).
            if sent and (
                not sent[-1][1].ok or time.monotonic() - claimed_at > LEASE_MARGIN.seconds / 2
            ):
                break
            at = now or timezone.now()
            body, headers = signed_request(delivery, at)
            sent.append((delivery, post(delivery.subscription.url, body, headers, **kwargs), at))
    finally:
        if sent:
            deliveries_record(sent=sent)
        deliveries_release(batch[len(sent) :])
    return [delivery for delivery, _, _ in sent]


def delivery_attempt(*, delivery_id, now=None, timeout=None) -> Delivery | None:
    """One attempt of this delivery alone, if it is due and unclaimed."""
    sent = deliveries_attempt(delivery_id=delivery_id, now=now, timeout=timeout, limit=1)
    return sent[0] if sent else None


def deliveries_send_due(*, now=None) -> int:
    """Attempt every due delivery here, in this process: what a worker does per message,
    for a whole backlog at once (tests drive retries through it with an explicit clock;
    production sends each delivery as its own message)."""
    now = now or timezone.now()
    count = 0
    for delivery_id in Delivery.objects.due(now).values_list("pk", flat=True)[:500]:
        if delivery_attempt(delivery_id=delivery_id, now=now) is not None:
            count += 1
    return count


# No broker retries: a failed attempt schedules its own retry (services.retry_delay), and a
# message lost with a killed worker is re-sent by the recovery step once the lease lapses.
@dramatiq.actor(queue_name=WEBHOOKS_QUEUE, max_retries=0, time_limit=60_000)
def deliver_webhook(delivery_id: str, attempt: int | None = None) -> None:
    deliveries_attempt(delivery_id=delivery_id, attempt=attempt)
