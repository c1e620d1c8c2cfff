"""The state changes announce themselves: each event is written with its change (the
outbox), sent by a worker after the commit, and carries the object as the API returns it.

These run the real actors on the in-process broker (``stub_worker``) against a loopback
receiver; receivers verify with the ``standardwebhooks`` library, as the docs tell them to.
"""

import hashlib
import hmac
import json
from uuid import UUID

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook

from environments.webhooks.models import Delivery, Event
from environments.webhooks.services import deliveries_recover, subscription_create
from images.services.deletion import image_delete
from images.services.downloads import download_job_create
from tests import imagegen
from tests.openapi import assert_matches
from tests.uploads import upload

pytestmark = pytest.mark.django_db(transaction=True)


def _received(receiver, secret):
    """Every request the receiver got, verified and decoded."""
    out = []
    for request in receiver.requests:
        headers = {k.lower(): v for k, v in request["headers"].items()}
        out.append((headers["webhook-id"], Webhook(secret).verify(request["body"], headers)))
    return out


@pytest.fixture
def subscribed(owner, receiver, loopback_allowed):
    subscription, secret = subscription_create(environment=owner.environment, url=receiver.url())
    return subscription, secret


def test_an_image_that_becomes_ready_is_announced_once_with_its_image_schema(
    owner, receiver, subscribed, stub_worker
):
    _, secret = subscribed
    image_id = upload(owner.server, imagegen.jpeg(), "image/jpeg", "beach.jpg")
    stub_worker()
    ((event_id, event),) = _received(receiver, secret)
    assert event["type"] == "image.ready"
    assert event["data"]["id"] == image_id and event["data"]["status"] == "READY"
    assert event["data"] == owner.server.get(f"/api/v1/images/{image_id}").json()
    assert_matches(event["data"], "ImageSchema")
    assert Event.objects.get().id == event_id
    assert Delivery.objects.get().status == Delivery.DELIVERED


def test_an_image_that_fails_verification_is_announced_as_quarantined_with_the_reason(
    owner, receiver, subscribed, stub_worker
):
    _, secret = subscribed
    upload(owner.server, b"\xff\xd8 not really a jpeg", "image/jpeg", "broken.jpg")
    stub_worker()
    ((_, event),) = _received(receiver, secret)
    assert event["type"] == "image.quarantined"
    assert event["data"]["status"] == "QUARANTINE" and event["data"]["status_reason"]


def test_deleting_an_image_announces_it_and_a_download_announces_its_archive(
    owner, receiver, subscribed, stub_worker
):
    _, secret = subscribed
    kept = upload(owner.server, imagegen.png_rgba(), "image/png", "kept.png")
    gone = upload(owner.server, imagegen.jpeg(), "image/jpeg", "gone.jpg")
    stub_worker()
    job = owner.server.post("/api/v1/images/downloads", {"image_ids": [kept]}, format="json")
    assert job.status_code == 200
    assert owner.server.delete(f"/api/v1/images/{gone}").status_code in (200, 204)
    stub_worker()
    events = [event for _, event in _received(receiver, secret)]
    by_type = {event["type"]: event["data"] for event in events}
    assert sorted(by_type) == ["download.ready", "image.deleted", "image.ready"]
    assert by_type["image.deleted"]["id"] == gone and by_type["image.deleted"]["deleted_at"]
    assert by_type["download.ready"]["id"] == job.json()["id"]
    assert by_type["download.ready"]["status"] == "READY"
    assert_matches(by_type["download.ready"], "ImageDownloadJobSchema")
    assert len(events) == 4  # two image.ready, one of each other


def test_an_uploadcare_subscription_gets_uploadcare_names_bodies_and_signatures(
    owner, receiver, loopback_allowed, stub_worker
):
    _, secret = subscription_create(
        environment=owner.environment,
        url=receiver.url(),
        format="uploadcare",
        events=["file.uploaded", "file.stored", "file.deleted"],
    )
    image_id = upload(owner.server, imagegen.jpeg(), "image/jpeg", "uc photo.jpg")
    stub_worker()
    owner.server.delete(f"/api/v1/images/{image_id}")
    stub_worker()
    bodies = []
    for request in receiver.requests:
        expected = hmac.new(secret.encode(), request["body"], hashlib.sha256).hexdigest()
        assert request["headers"]["X-Uc-Signature"] == f"v1={expected}"
        bodies.append(json.loads(request["body"]))
    assert sorted(b["hook"]["event"] for b in bodies) == [
        "file.deleted",
        "file.stored",
        "file.uploaded",
    ]
    uploaded = next(b for b in bodies if b["hook"]["event"] == "file.uploaded")
    assert uploaded["data"]["uuid"] == image_id and uploaded["data"]["is_ready"] is True
    assert uploaded["data"]["original_filename"] == "uc photo.jpg"
    assert uploaded["file"] == uploaded["data"]["url"]


def test_changing_tags_announces_image_updated_only_when_they_change(
    owner, receiver, loopback_allowed, stub_worker
):
    _, secret = subscription_create(
        environment=owner.environment, url=receiver.url(), events=["image.updated"]
    )
    image_id = upload(owner.server, imagegen.jpeg(), "image/jpeg", "tagged.jpg")
    stub_worker()
    path = f"/api/v1/images/{image_id}/tags"
    assert owner.server.post(path, {"add": ["summer"]}, format="json").status_code == 200
    assert owner.server.post(path, {"add": ["summer"]}, format="json").status_code == 200
    stub_worker()
    ((_, event),) = _received(receiver, secret)
    assert event["type"] == "image.updated" and event["data"]["tags"] == ["summer"]


def test_a_change_that_rolls_back_leaves_no_event_behind(owner, subscribed, stub_worker):
    image_id = upload(owner.server, imagegen.jpeg(), "image/jpeg", "stays.jpg")
    stub_worker()
    before = Event.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        image_delete(environment=owner.environment, image_id=image_id)
        assert Event.objects.count() == before + 1  # written with the change…
        raise RuntimeError("the request failed after the delete")
    assert Event.objects.count() == before  # …and gone with it
    assert owner.server.get(f"/api/v1/images/{image_id}").status_code == 200


def test_an_event_whose_send_was_lost_is_sent_by_the_recovery_step(
    owner, receiver, subscribed, stub_worker, monkeypatch
):
    from environments.webhooks.tasks import deliver_webhook
    from imgwire_site.broker import broker

    _, secret = subscribed
    real_enqueue = broker.enqueue

    def broker_away(message, *, delay=None):
        if message.actor_name == deliver_webhook.actor_name:
            raise ConnectionError("the broker is away")
        return real_enqueue(message, delay=delay)

    monkeypatch.setattr(broker, "enqueue", broker_away)
    image_id = upload(owner.server, imagegen.jpeg(), "image/jpeg", "later.jpg")
    stub_worker()
    assert receiver.requests == []
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.PENDING and delivery.enqueued_at is None
    monkeypatch.setattr(broker, "enqueue", real_enqueue)  # the broker is back
    assert deliveries_recover() == 1
    assert deliveries_recover() == 0  # sent once: not again while it is in flight
    stub_worker()
    ((_, event),) = _received(receiver, secret)
    assert event["data"]["id"] == image_id


def test_nobody_listening_costs_no_event_rows(owner, stub_worker):
    upload(owner.server, imagegen.jpeg(), "image/jpeg", "quiet.jpg")
    stub_worker()
    assert not Event.objects.exists()


def test_a_download_that_cannot_be_built_is_announced_as_failed_with_the_reason(
    owner, receiver, subscribed, stub_worker
):
    _, secret = subscribed
    image_id = upload(owner.server, imagegen.jpeg(), "image/jpeg", "soon-gone.jpg")
    stub_worker()
    # Deleted before any worker can build the archive (the build is sent on commit): the
    # build fails, and says why.
    with transaction.atomic():
        job = download_job_create(environment=owner.environment, image_ids=[UUID(image_id)])
        image_delete(environment=owner.environment, image_id=image_id)
    stub_worker()
    failed = [e for _, e in _received(receiver, secret) if e["type"] == "download.failed"]
    assert len(failed) == 1 and failed[0]["data"]["id"] == str(job.id)
    assert "deleted" in failed[0]["data"]["failure_reason"]


def test_an_overwrite_announces_the_new_version_of_the_same_file(
    owner, receiver, subscribed, stub_worker
):
    from tests.images.test_versions import overwrite

    _, secret = subscribed
    image_id = upload(owner.server, imagegen.jpeg(width=60, height=40), "image/jpeg", "v.jpg")
    stub_worker()
    overwrite(owner, image_id, imagegen.jpeg(width=90, height=30))
    stub_worker()
    events = [e for _, e in _received(receiver, secret)]
    assert [e["type"] for e in events] == ["image.ready", "image.updated"]
    updated = events[1]["data"]
    assert updated["id"] == image_id and (updated["width"], updated["height"]) == (90, 30)


def test_settled_events_are_forgotten_after_thirty_days_but_pending_ones_are_kept(
    owner, subscribed
):
    from datetime import timedelta

    from django.utils import timezone

    from environments.webhooks.services import KEEP_EVENTS_FOR, webhook_events_prune
    from environments.webhooks.services import webhook_event_record as record

    long_ago = timezone.now() - KEEP_EVENTS_FOR - timedelta(days=1)
    settled = record(environment=owner.environment, type="image.ready", payload={}, now=long_ago)
    pending = record(environment=owner.environment, type="image.ready", payload={}, now=long_ago)
    recent = record(environment=owner.environment, type="image.ready", payload={})
    Delivery.objects.filter(event=settled).update(status=Delivery.DELIVERED)
    Delivery.objects.filter(event=recent).update(status=Delivery.DELIVERED)
    assert webhook_events_prune() == 1
    assert set(Event.objects.values_list("id", flat=True)) == {pending.id, recent.id}
