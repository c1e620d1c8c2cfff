"""Outgoing webhooks reach a loopback receiver signed, retried, and eventually given up on.

Retries are driven with an explicit clock (``now=``), never by sleeping.
"""

import hashlib
import hmac
import ipaddress
import json
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from environments.webhooks.models import Attempt, Delivery, Subscription
from environments.webhooks.services import (
    GIVE_UP_AFTER,
    retry_delay,
    subscription_create,
    subscription_secret,
    webhook_event_record,
)
from environments.webhooks.tasks import deliveries_send_due, delivery_attempt
from images.remote import addresses
from imgwire_site.domain import Refusal


def _record(owner, type="image.ready", payload=None, now=None):
    return webhook_event_record(
        environment=owner.environment, type=type, payload=payload or {"id": "img_1"}, now=now
    )


def test_an_event_arrives_once_with_a_standard_webhooks_signature(
    owner, receiver, loopback_allowed, django_capture_on_commit_callbacks
):
    subscription, secret = subscription_create(environment=owner.environment, url=receiver.url())
    with django_capture_on_commit_callbacks() as callbacks:
        event = _record(owner, payload={"id": "img_1", "status": "READY"})
    assert len(callbacks) == 1  # the send waits for the commit
    assert deliveries_send_due() == 1
    assert deliveries_send_due() == 0  # delivered: nothing is sent twice
    (request,) = receiver.requests
    headers = {k.lower(): v for k, v in request["headers"].items()}
    verified = Webhook(secret).verify(request["body"], headers)
    assert verified["type"] == "image.ready"
    assert verified["data"] == {"id": "img_1", "status": "READY"}
    assert headers["webhook-id"] == event.id
    assert Delivery.objects.get().status == Delivery.DELIVERED
    assert subscription_secret(subscription) == secret


def test_a_receiver_answering_500_then_200_gets_the_event_on_the_retry(
    owner, receiver, loopback_allowed
):
    subscription_create(environment=owner.environment, url=receiver.url())
    receiver.statuses = [500, 200]
    now = timezone.now()
    _record(owner, now=now)
    assert deliveries_send_due(now=now) == 1
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.PENDING and delivery.next_attempt_at > now
    assert deliveries_send_due(now=now) == 0  # not due yet
    assert deliveries_send_due(now=delivery.next_attempt_at) == 1
    assert Delivery.objects.get().status == Delivery.DELIVERED
    assert [a.status_code for a in Attempt.objects.order_by("at")] == [500, 200]
    assert len(receiver.requests) == 2


def test_retry_delays_grow_with_jitter_and_are_capped():
    assert retry_delay(1, rng=lambda: 0.0) == timedelta(seconds=2.5)
    assert retry_delay(3, rng=lambda: 1.0) == timedelta(seconds=20)
    assert retry_delay(40, rng=lambda: 1.0) == timedelta(hours=4)


def test_a_receiver_down_for_the_whole_window_disables_the_subscription_and_emails_owners(
    owner, receiver, loopback_allowed, django_capture_on_commit_callbacks
):
    subscription, _ = subscription_create(environment=owner.environment, url=receiver.url())
    receiver.statuses = [503]
    start = timezone.now()
    now = start
    with django_capture_on_commit_callbacks(execute=True):
        while now - start < timedelta(days=4):
            _record(owner, now=now)  # events keep happening; every delivery keeps failing
            deliveries_send_due(now=now)
            now += timedelta(hours=6)
            subscription.refresh_from_db()
            if not subscription.enabled:
                break
    assert not subscription.enabled and subscription.disabled_reason
    assert mail.outbox and owner.user.email in mail.outbox[0].to
    assert Delivery.objects.filter(status=Delivery.FAILED).exists()  # given up after a day
    assert _record(owner, now=now) is None  # disabled: no new deliveries


def test_an_old_failing_delivery_is_marked_failed_after_about_a_day(
    owner, receiver, loopback_allowed
):
    subscription_create(environment=owner.environment, url=receiver.url())
    receiver.statuses = [500]
    start = timezone.now()
    _record(owner, now=start)
    deliveries_send_due(now=start + GIVE_UP_AFTER)
    assert Delivery.objects.get().status == Delivery.FAILED


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://169.254.169.254/latest",
        "http://10.0.0.1/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://2130706433/",
    ],
)
def test_subscriptions_to_private_loopback_and_metadata_addresses_are_refused(owner, url):
    with pytest.raises(Refusal) as refused:
        subscription_create(environment=owner.environment, url=url)
    assert refused.value.field == "url" and "public" in refused.value.message
    assert not Subscription.objects.exists()


def test_a_name_that_resolves_to_loopback_is_refused_at_the_attempt(owner, monkeypatch):
    # A public name passes at creation; its addresses are checked at every attempt, so one
    # that starts resolving to loopback (DNS rebinding) is refused then. DNS is the outside
    # world: its answer is stood in for here.
    subscription_create(environment=owner.environment, url="http://rebinding.example.com/hook")
    monkeypatch.setattr(
        addresses, "resolve", lambda host, port, resolver: [ipaddress.ip_address("127.0.0.1")]
    )
    _record(owner)
    deliveries_send_due()
    attempt = Attempt.objects.get()
    assert attempt.status_code is None and "public" in attempt.error
    assert Delivery.objects.get().status == Delivery.PENDING


def test_plain_http_targets_need_the_operator_to_allow_them(owner, settings):
    settings.IMGWIRE_WEBHOOK_ALLOW_HTTP = False
    with pytest.raises(Refusal) as refused:
        subscription_create(environment=owner.environment, url="http://hooks.example.com/x")
    assert "https" in refused.value.message
    subscription, _ = subscription_create(
        environment=owner.environment, url="https://hooks.example.com/x"
    )
    assert subscription.url == "https://hooks.example.com/x"


def test_a_slow_receiver_does_not_hold_the_worker_past_the_timeout(
    owner, receiver, loopback_allowed
):
    subscription_create(environment=owner.environment, url=receiver.url())
    receiver.stall = True
    _record(owner)
    delivery = delivery_attempt(delivery_id=Delivery.objects.get().pk, timeout=0.5)
    attempt = Attempt.objects.get()
    assert attempt.status_code is None and attempt.latency_ms < 5000
    assert delivery.status == Delivery.PENDING


def test_a_delivery_claimed_by_one_worker_is_not_sent_by_another(owner, receiver, loopback_allowed):
    from environments.webhooks.batches import deliveries_claim

    subscription_create(environment=owner.environment, url=receiver.url())
    _record(owner)
    delivery_id = Delivery.objects.get().pk
    assert deliveries_claim(delivery_id=delivery_id, now=timezone.now()) != []
    assert delivery_attempt(delivery_id=delivery_id) is None
    assert receiver.requests == []


def test_the_uploadcare_format_is_signed_with_x_uc_signature(owner, receiver, loopback_allowed):
    _, secret = subscription_create(
        environment=owner.environment,
        url=receiver.url(),
        format="uploadcare",
        events=["file.uploaded"],
    )
    _record(owner, type="file.uploaded", payload={"uuid": "u1", "url": "https://cdn/x"})
    deliveries_send_due()
    (request,) = receiver.requests
    expected = hmac.new(secret.encode(), request["body"], hashlib.sha256).hexdigest()
    assert request["headers"]["X-Uc-Signature"] == f"v1={expected}"
    body = json.loads(request["body"])
    assert body["hook"]["event"] == "file.uploaded" and body["hook"]["target"] == receiver.url()
    assert body["data"] == {"uuid": "u1", "url": "https://cdn/x"}
    assert body["file"] == "https://cdn/x" and body["initiator"]["type"] == "api"


def test_subscriptions_only_get_the_event_types_they_asked_for(owner, receiver, loopback_allowed):
    subscription_create(environment=owner.environment, url=receiver.url(), events=["image.deleted"])
    assert _record(owner, type="image.ready") is None
    assert _record(owner, type="image.deleted") is not None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"url": "ftp://x"},
        {"url": 5},
        {"url": "https://x", "events": "all"},
        {"url": "https://x", "format": "x"},
        {"url": "https://x", "events": ["image.ready", "image.exploded"]},
        {"url": "https://x", "events": ["webhook.test"]},
        {"url": "https://user:pw@x/"},
        {"url": "https://x/" + "a" * 2000},
        {"url": "https://x/\x00"},
        {"url": "https://"},
    ],
)
def test_bad_subscription_input_is_refused(owner, kwargs):
    with pytest.raises(Refusal):
        subscription_create(environment=owner.environment, **kwargs)
    assert not Subscription.objects.exists()
