"""Webhook state changes: subscriptions, the outbox, and recording one delivery attempt."""

import functools
import ipaddress
import json
import random
import secrets
from base64 import b64encode
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from imgwire_site.domain import CONFLICT, INVALID_VALUE, Refusal
from imgwire_site.prebuilt_sql import insert_all
from keys.crypto import decrypt, encrypt

from .models import Attempt, Delivery, Event, Subscription

# Retries: exponential backoff with full jitter, capped, over roughly a day; then FAILED.
BASE_DELAY = timedelta(seconds=5)
MAX_DELAY = timedelta(hours=4)
GIVE_UP_AFTER = timedelta(hours=24)
# A subscription whose deliveries have failed without one success for this long is disabled.
DISABLE_AFTER = timedelta(days=3)
# A claim outlives the longest attempt (the timeout) by this much; then a killed worker's
# claim lapses and the recovery step sends the delivery again.
LEASE_MARGIN = timedelta(seconds=10)
# A message sent this long ago whose delivery is still due and unclaimed is taken as lost.
LOST_MESSAGE_AFTER = timedelta(seconds=60)
FORMATS = {"standard", "uploadcare"}
MAX_SUBSCRIPTIONS = 20
MAX_URL = 2000


def _new_secret() -> str:
    # Standard Webhooks secrets: "whsec_" + base64 of the key bytes.
    return "whsec_" + b64encode(secrets.token_bytes(32)).decode()


def subscription_secret(subscription) -> str:
    return _decrypted(subscription.secret_ciphertext)


@functools.lru_cache(maxsize=1024)
def _decrypted(ciphertext: str) -> str:
    """Every delivery is signed with its subscription's secret, and Fernet's decryption
    (HMAC check + AES) was a sixth of a delivery's CPU. Keyed by the ciphertext, so a
    rotated secret (a new ciphertext) is never served stale; the plaintext is in this
    process's memory for each signature anyway."""
    return decrypt(ciphertext)


def _validate(url: str, events, format: str) -> None:
    from images.remote.addresses import (
        UrlError,
        fixed_address,
        is_blocked,
        parse_legacy_ipv4,
        parse_url,
    )

    from .events import SUBSCRIBABLE_TYPES

    if not isinstance(url, str) or len(url) > MAX_URL:
        raise Refusal(
            INVALID_VALUE, f"url must be a URL of at most {MAX_URL} characters.", field="url"
        )
    try:
        target = parse_url(url)
    except UrlError as error:
        raise Refusal(INVALID_VALUE, f"url {error}.", field="url") from None
    if target.scheme != "https" and not settings.IMGWIRE_WEBHOOK_ALLOW_HTTP:
        raise Refusal(
            INVALID_VALUE,
            "url must be an https:// URL (plain http:// is allowed only where the operator "
            "sets IMGWIRE_WEBHOOK_ALLOW_HTTP).",
            field="url",
        )
    named = None
    try:
        literal = ipaddress.ip_address(target.host)
    except ValueError:  # 0x7f.1, localhost, or a name checked at every attempt
        literal = parse_legacy_ipv4(target.host) or (named := fixed_address(target.host))
    if literal is not None and is_blocked(literal, settings.IMGWIRE_WEBHOOK_ALLOWED_NETWORKS):
        where = f"{target.host} always means {literal}, " if named else ""
        raise Refusal(
            INVALID_VALUE,
            f"url points at a private, loopback or metadata address ({where}which Imgwire "
            "never calls); webhooks go to public addresses only. To receive them on your "
            "own machine, expose its port through a public tunnel.",
            field="url",
        )
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise Refusal(INVALID_VALUE, "events must be a list of event type names.", field="events")
    unknown = sorted(set(events) - set(SUBSCRIBABLE_TYPES))
    if unknown:
        raise Refusal(
            INVALID_VALUE,
            f"Unknown event types: {', '.join(unknown)[:200]}. Known: "
            f"{', '.join(SUBSCRIBABLE_TYPES)}.",
            field="events",
        )
    if format not in FORMATS:
        raise Refusal(INVALID_VALUE, "format must be standard or uploadcare.", field="format")


@transaction.atomic
def subscription_create(*, environment, url, events=(), format="standard"):
    """A new subscription and its secret (the plaintext is returned once, never stored).
    At most MAX_SUBSCRIPTIONS per environment: every event is copied to each one."""
    from environments.models import Environment

    events = list(events)
    _validate(url, events, format)
    Environment.objects.select_for_update().filter(pk=environment.pk).first()  # serialise
    if Subscription.objects.filter(environment=environment).count() >= MAX_SUBSCRIPTIONS:
        raise Refusal(
            CONFLICT,
            f"An environment may have at most {MAX_SUBSCRIPTIONS} webhook subscriptions; "
            "delete one, or subscribe one endpoint to more events.",
            limit=MAX_SUBSCRIPTIONS,
        )
    secret = _new_secret()
    subscription = Subscription.objects.create(
        environment=environment,
        url=url,
        events=events,
        format=format,
        secret_ciphertext=encrypt(secret),
    )
    return subscription, secret


def subscription_update(*, subscription, url=None, events=None, enabled=None, format=None):
    url = subscription.url if url is None else url
    events = subscription.events if events is None else events
    format = subscription.format if format is None else format
    _validate(url, events, format)
    subscription.url, subscription.events, subscription.format = url, events, format
    if enabled is not None:
        subscription.enabled = bool(enabled)
        if enabled:  # re-enabling starts a fresh failing window
            subscription.disabled_reason, subscription.failing_since = "", None
    subscription.save()
    return subscription


def subscription_rotate_secret(*, subscription) -> str:
    secret = _new_secret()
    subscription.secret_ciphertext = encrypt(secret)
    subscription.save(update_fields=["secret_ciphertext"])
    return secret


def subscription_delete(*, subscription) -> None:
    subscription.delete()


def subscriptions_wanting(environment, types) -> dict[str, list]:
    """The enabled subscriptions of ``environment`` (or its id) wanting each of ``types``:
    one query, and nothing more is done when nobody listens."""
    environment_id = getattr(environment, "pk", environment)
    enabled = list(Subscription.objects.filter(environment_id=environment_id, enabled=True))
    return {t: [s for s in enabled if s.wants(t)] for t in types}


def webhook_event_record(*, environment, type, payload, now=None, subscriptions=None):
    """Write the event and its deliveries; call INSIDE the state change's transaction.
    ``environment``: the environment or its id.

    ``subscriptions``: those to deliver to (default: the environment's that want
    ``type``). The sends are enqueued on commit; if one is lost, the recovery step
    (deliveries_recover) finds the due delivery and sends it again.
    """
    now = now or timezone.now()
    if subscriptions is None:
        subscriptions = subscriptions_wanting(environment, [type])[type]
    if not subscriptions:
        return None
    json.dumps(payload)  # fail here, inside the caller's transaction, not in the worker
    event = Event(
        environment_id=getattr(environment, "pk", environment),
        type=type,
        payload=payload,
        created_at=now,
    )
    deliveries = [
        Delivery(event=event, subscription=s, next_attempt_at=now, enqueued_at=now)
        for s in subscriptions
    ]
    # Inside the state change's transaction, so without the ORM's compiler (prebuilt_sql.py).
    insert_all([event])
    insert_all(deliveries)
    for delivery in deliveries:
        delivery_send_on_commit(delivery.pk, attempt=0)
    return event


def delivery_send_on_commit(
    delivery_id, *, delay: timedelta | None = None, attempt: int | None = None
) -> None:
    """Hand the delivery to a worker once the rows are committed. A send that fails (the
    broker is away) is not an error here: ``enqueued_at`` is cleared, so the recovery step
    sends it on its next tick. ``attempt``: how many attempts it has had (a worker that
    recorded that one already drops the message, tasks.deliveries_attempt); None when the
    caller does not know, and the claim decides."""
    from imgwire_site.tasks import send_quietly

    from .tasks import deliver_webhook

    milliseconds = None if delay is None else max(int(delay.total_seconds() * 1000), 0)

    def send():
        if not send_quietly(deliver_webhook, str(delivery_id), attempt, delay=milliseconds):
            Delivery.objects.filter(pk=delivery_id, status=Delivery.PENDING).update(
                enqueued_at=None
            )

    transaction.on_commit(send, robust=True)


def retry_delay(attempts: int, *, rng=random.random) -> timedelta:
    ceiling = min(MAX_DELAY, BASE_DELAY * (2 ** max(attempts - 1, 0)))
    return ceiling / 2 + ceiling / 2 * rng()  # half fixed, half jitter: never a zero delay


@transaction.atomic
def delivery_record_attempt(*, delivery, outcome, now=None) -> Delivery:
    """Log the attempt and settle the delivery. A success writes the subscription row only
    when it was failing (no write to that shared row per delivery); a failure schedules
    the retry, and disables the subscription after DISABLE_AFTER without a success."""
    now = now or timezone.now()
    Attempt.objects.create(
        delivery=delivery,
        at=now,
        status_code=outcome.status_code,
        latency_ms=outcome.latency_ms,
        response_excerpt=outcome.excerpt,
        error=outcome.error,
    )
    delivery.attempts += 1
    delivery.lease_until = None
    if outcome.ok:
        delivery.status = Delivery.DELIVERED
        if delivery.subscription.failing_since is not None:
            Subscription.objects.filter(pk=delivery.subscription_id).update(failing_since=None)
    else:
        if now - delivery.event.created_at >= GIVE_UP_AFTER:
            delivery.status = Delivery.FAILED
        else:
            delay = retry_delay(delivery.attempts)
            delivery.next_attempt_at = now + delay
            # The retry is a delayed message; it counts as lost only once it is overdue.
            delivery.enqueued_at = delivery.next_attempt_at
            delivery_send_on_commit(delivery.pk, delay=delay, attempt=delivery.attempts)
        _subscription_failed(delivery.subscription_id, now)
    delivery.save(
        update_fields=["attempts", "lease_until", "status", "next_attempt_at", "enqueued_at"]
    )
    return delivery


def _subscription_failed(subscription_id, now) -> None:
    from .notify import subscription_notify_disabled

    subscription = Subscription.objects.select_for_update().get(pk=subscription_id)
    subscription.failing_since = subscription.failing_since or now
    if subscription.enabled and now - subscription.failing_since >= DISABLE_AFTER:
        subscription.enabled = False
        subscription.disabled_reason = "Deliveries failed for 3 days without a success."
        transaction.on_commit(lambda: subscription_notify_disabled(subscription=subscription))
    subscription.save(update_fields=["failing_since", "enabled", "disabled_reason"])


def deliveries_recover(*, now=None, limit: int = 500) -> int:
    """The recovery step: re-send deliveries that are due, not held by a live claim, and
    whose message is lost (never sent, overdue, or taken by a worker that died: its lease
    lapsed). A re-send of a message that was only slow finds the delivery claimed or done."""
    now = now or timezone.now()
    lost = Delivery.objects.due(now).filter(
        models.Q(enqueued_at__isnull=True)
        | models.Q(enqueued_at__lt=now - LOST_MESSAGE_AFTER)
        | models.Q(lease_until__isnull=False)
    )
    resent = 0
    for delivery_id, enqueued_at in lost.values_list("pk", "enqueued_at")[:limit]:
        # Conditional: two schedulers never both re-send one delivery.
        if Delivery.objects.filter(pk=delivery_id, enqueued_at=enqueued_at).update(
            enqueued_at=now, lease_until=None
        ):
            from imgwire_site.tasks import send_quietly

            from .tasks import deliver_webhook

            if send_quietly(deliver_webhook, str(delivery_id)):
                resent += 1
            else:
                Delivery.objects.filter(pk=delivery_id, enqueued_at=now).update(enqueued_at=None)
    return resent


@transaction.atomic
def delivery_send_again(*, delivery) -> Delivery:
    """Send again, from the log: the same event (same id: receivers deduplicate), due now,
    whatever it ended as; the subscription must be enabled."""
    subscription = Subscription.objects.get(pk=delivery.subscription_id)
    if not subscription.enabled:
        raise Refusal(CONFLICT, "The subscription is disabled: enable it before sending again.")
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.PENDING, next_attempt_at=now, enqueued_at=now, lease_until=None
    )
    delivery_send_on_commit(delivery.pk)
    delivery.refresh_from_db()
    return delivery


@transaction.atomic
def subscription_test_event(*, subscription) -> Event:
    """A ``webhook.test`` event to this one subscription (enabled or not: testing a
    disabled endpoint before re-enabling it is the point)."""
    from .events import TEST

    return webhook_event_record(
        environment=subscription.environment,
        type=TEST,
        payload={
            "message": "A test event from Imgwire.",
            "subscription_url": subscription.url,
        },
        subscriptions=[subscription],
    )


# Delivered and failed deliveries stay in the log this long (the dashboard shows them).
KEEP_EVENTS_FOR = timedelta(days=30)


def webhook_events_prune(*, now=None, limit: int = 5000) -> int:
    """The reconciler's step: forget events older than KEEP_EVENTS_FOR whose deliveries
    are all settled (their attempts go with them). One still pending is kept."""
    now = now or timezone.now()
    old = Event.objects.filter(created_at__lt=now - KEEP_EVENTS_FOR).exclude(
        deliveries__status=Delivery.PENDING
    )
    ids = list(old.values_list("pk", flat=True)[:limit])
    Event.objects.filter(pk__in=ids).delete()
    return len(ids)
