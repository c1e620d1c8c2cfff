"""Webhooks on the real broker and PostgreSQL with separate worker processes (issue #16):
a worker killed with SIGKILL in the middle of a delivery, and a broker that is away when
an event is committed, lose no event; the receiver deduplicates by the event id."""

import pytest
import requests
from django.conf import settings
from standardwebhooks.webhooks import Webhook

from environments.webhooks.models import Delivery, Event
from environments.webhooks.services import subscription_create
from images.models import Image
from images.remote.addresses import parse_allowed_networks
from images.services.maintenance import recover
from tests import imagegen
from tests.conftest import make_tenant
from tests.services.recovery_support import (
    web_worker_scheduler_through_relay,
)
from tests.waiting import wait_for
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.django_db(transaction=True)
AIM_SECONDS = 60
# Loopback receivers and plain http are allowed for these processes only; a short timeout
# keeps the lease (timeout + 10 s) that a killed worker leaves behind short.
WEBHOOK_ENV = {
    "IMGWIRE_WEBHOOK_ALLOW_HTTP": "1",
    "IMGWIRE_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    "IMGWIRE_WEBHOOK_TIMEOUT_SECONDS": "2",
}


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def subscribed(receiver, settings):
    settings.IMGWIRE_WEBHOOK_ALLOW_HTTP = True
    settings.IMGWIRE_WEBHOOK_ALLOWED_NETWORKS = parse_allowed_networks("127.0.0.0/8")
    tenant = make_tenant("hooks")
    tenant.headers = {"Authorization": f"Bearer {tenant.server_key}"}
    _, tenant.secret = subscription_create(environment=tenant.environment, url=receiver.url())
    return tenant


def upload(base: str, tenant, name: str) -> str:
    data = imagegen.jpeg()
    created = requests.post(
        f"{base}/api/v1/images/standard_upload",
        json={"file_name": name, "content_length": len(data)},
        headers=tenant.headers,
        timeout=30,
    ).json()
    put = requests.put(
        created["upload_url"], data=data, headers={"Content-Type": "image/jpeg"}, timeout=60
    )
    assert put.status_code == 200, put.text
    return created["image"]["id"]


def verified(receiver, secret) -> list[tuple[str, dict]]:
    out = []
    for request in list(receiver.requests):
        headers = {k.lower(): v for k, v in request["headers"].items()}
        out.append((headers["webhook-id"], Webhook(secret).verify(request["body"], headers)))
    return out


def test_a_worker_killed_mid_delivery_delivers_the_event_after_a_restart(
    subscribed, receiver, workers, live
):
    receiver.stall = True  # the first attempt hangs inside the receiver
    workers.start(**WEBHOOK_ENV)
    image_id = upload(live, subscribed, "killed.jpg")
    wait_for(lambda: receiver.requests, timeout=AIM_SECONDS, interval=0.02)
    workers.kill()  # mid-delivery: the request arrived, no answer was recorded
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.PENDING and delivery.lease_until is not None

    receiver.stall = False
    receiver.release.set()
    workers.start(**WEBHOOK_ENV)

    def delivered():
        recover()  # the scheduler's recovery step, as it runs every few seconds
        return Delivery.objects.filter(status=Delivery.DELIVERED).exists()

    wait_for(delivered, timeout=AIM_SECONDS, interval=0.5)
    received = verified(receiver, subscribed.secret)
    event_id = Event.objects.get().id
    # At least once: the interrupted attempt and the one that counted, with one id.
    assert {i for i, _ in received} == {event_id} and len(received) >= 2
    assert {e["data"]["id"] for _, e in received} == {image_id}
    assert Delivery.objects.get().attempts == 1  # the killed attempt never recorded


@pytest.fixture
def through_relay(workers):
    """Web, worker and scheduler processes whose broker is reached through a relay."""
    broker_url = settings.IMGWIRE_BROKER_URL
    with web_worker_scheduler_through_relay(workers, broker_url, **WEBHOOK_ENV) as running:
        yield running


def test_events_committed_while_the_broker_is_away_arrive_once_it_returns(
    subscribed, receiver, through_relay
):
    relay, base = through_relay
    image_ids = [upload(base, subscribed, f"hook-{n}.jpg") for n in range(2)]
    wait_for(
        lambda: len(verified(receiver, subscribed.secret)) == 2, timeout=AIM_SECONDS, interval=0.1
    )

    relay.stop()  # the broker is away: the sends after these commits fail
    for image_id in image_ids:
        deleted = requests.delete(
            f"{base}/api/v1/images/{image_id}", headers=subscribed.headers, timeout=30
        )
        assert deleted.status_code in (200, 204), deleted.text
    assert Event.objects.filter(type="image.deleted").count() == 2  # committed with the deletes
    assert not Image.objects.alive().filter(id__in=image_ids).exists()

    relay.start()  # back: the scheduler's recovery step sends what was never sent

    def deleted_arrived():
        types = [e["type"] for _, e in verified(receiver, subscribed.secret)]
        return types.count("image.deleted") == 2

    wait_for(deleted_arrived, timeout=AIM_SECONDS, interval=0.25)
    ids = [i for i, _ in verified(receiver, subscribed.secret)]
    assert sorted(set(ids)) == sorted(Event.objects.values_list("id", flat=True))
