"""The delivery actor: thin, takes a delivery id, safe to run twice (the claim is a lease)."""

import dramatiq
from django.utils import timezone

from imgwire_site.broker import queue_name

from .models import Delivery
from .sending import post
from .services import delivery_claim, delivery_record_attempt
from .signing import signed_request

WEBHOOKS_QUEUE = queue_name("webhooks")


def delivery_attempt(*, delivery_id, now=None, timeout=None) -> Delivery | None:
    """One attempt if the delivery is due and unclaimed; the network call is outside any
    transaction (the claim commits first, the record after)."""
    now = now or timezone.now()
    delivery = delivery_claim(delivery_id=delivery_id, now=now)
    if delivery is None:
        return None
    body, headers = signed_request(delivery, now)
    kwargs = {} if timeout is None else {"timeout": timeout}
    outcome = post(delivery.subscription.url, body, headers, **kwargs)
    return delivery_record_attempt(delivery=delivery, outcome=outcome, now=now)


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
def deliver_webhook(delivery_id: str) -> None:
    delivery_attempt(delivery_id=delivery_id)
