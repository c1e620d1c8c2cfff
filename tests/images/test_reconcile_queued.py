"""The reconciler re-sends processing messages that were lost, never ones still queued."""

import threading
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from dramatiq import Message

from images.models import Image
from images.services.maintenance import reconcile
from images.tasks import queue_identity
from imgwire_site.broker import broker
from tests import imagegen
from tests.uploads import create_upload, upload

pytestmark = pytest.mark.django_db(transaction=True)
QUEUE = "worker-host:1234"


@pytest.fixture(autouse=True)
def empty_queues():
    broker.flush_all()


def ago(**delta):
    return timezone.now() - timedelta(**delta)


def uploaded(tenant, **fields) -> str:
    """An image with its bytes in storage and ``fields`` set, as if it had been sent."""
    data = imagegen.jpeg()
    created = create_upload(tenant.server, file_name="a.jpg", content_length=len(data)).json()
    image = Image.objects.get(id=created["image"]["id"])
    default_storage.save(image.incoming_key, ContentFile(data))
    fields.setdefault("bytes_received_at", fields.get("enqueued_at") or ago(minutes=30))
    fields.setdefault("enqueued_to", QUEUE)
    Image.objects.filter(id=image.id).update(**fields)
    return str(image.id)


def claimed(tenant, *, sent, claimed_at) -> str:
    return uploaded(tenant, status="READY", enqueued_at=sent, processing_started_at=claimed_at)


def process_messages_queued() -> list[str]:
    queue = broker.queues.get("images")
    messages = [Message.decode(data) for data in list(queue.queue)] if queue else []
    return [m.args[0] for m in messages if m.actor_name == "process_image"]


def test_sending_a_processing_message_records_when_and_to_which_queue(owner):
    before = timezone.now()
    image_id = upload(owner.server, imagegen.jpeg(), "image/jpeg", "a.jpg")
    image = Image.objects.get(id=image_id)
    assert image.enqueued_at is not None and image.enqueued_at >= before
    assert image.enqueued_to == queue_identity() != ""


def test_a_message_queued_behind_a_backlog_is_not_resent(owner):
    # The queue is still working through messages sent before this one.
    claimed(owner, sent=ago(minutes=9), claimed_at=ago(seconds=20))
    uploaded(owner, enqueued_at=ago(minutes=8))
    assert reconcile().requeued == 0
    assert process_messages_queued() == []


def test_a_burst_still_being_worked_through_resends_only_the_message_skipped(owner):
    start = ago(minutes=10)
    ids = [uploaded(owner, enqueued_at=start + timedelta(seconds=index)) for index in range(30)]
    # The workers claimed the first twelve in order, one every 40 s, but never the fifth.
    for index, image_id in enumerate(ids[:12]):
        if index != 4:
            Image.objects.filter(id=image_id).update(
                status="READY", processing_started_at=start + timedelta(seconds=40 * index + 5)
            )
    assert reconcile().requeued == 1
    assert process_messages_queued() == [ids[4]]
    # Re-sent: it is a queued message again, and the next tick leaves it alone.
    assert reconcile().requeued == 0


def test_a_message_its_queue_has_not_claimed_anything_since_is_resent(owner, stub_worker):
    claimed(owner, sent=ago(minutes=30), claimed_at=ago(minutes=29))
    image_id = uploaded(owner, enqueued_at=ago(minutes=5))
    assert reconcile().requeued == 1
    stub_worker()
    assert Image.objects.get(id=image_id).status == "READY"


def test_a_message_sent_by_a_process_that_is_gone_is_resent_to_a_live_queue(owner):
    image_id = uploaded(owner, enqueued_at=ago(minutes=5), enqueued_to="gone-host:99")
    assert reconcile().requeued == 1
    assert process_messages_queued() == [image_id]
    assert Image.objects.get(id=image_id).enqueued_to == queue_identity()


def test_a_message_waiting_less_than_the_threshold_is_not_resent(owner):
    uploaded(owner, bytes_received_at=ago(minutes=5), enqueued_at=ago(seconds=30))
    assert reconcile().requeued == 0


def test_two_reconcilers_at_once_send_one_message(owner):
    image_id = uploaded(owner, enqueued_at=None, bytes_received_at=ago(minutes=5))
    threads = [threading.Thread(target=reconcile) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert process_messages_queued() == [image_id]
