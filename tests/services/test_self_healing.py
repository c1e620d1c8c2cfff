"""Crashes and outages on real services: every image still ends READY or QUARANTINE, with
nothing lost and nothing duplicated."""

import uuid
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.utils import timezone

from images.models import Image
from images.services.maintenance import reconcile
from images.tasks import process_image
from tests import imagegen
from tests.conftest import make_tenant
from tests.services.conftest import s3_client
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tenant(live):
    tenant = make_tenant("heal")
    tenant.url = live
    tenant.headers = {"Authorization": f"Bearer {tenant.server_key}"}
    return tenant


def upload(tenant, data: bytes, name: str, mime: str) -> str:
    created = requests.post(
        f"{tenant.url}/api/v1/images/standard_upload",
        json={"file_name": name, "content_length": len(data)},
        headers=tenant.headers,
        timeout=30,
    ).json()
    put = requests.put(created["upload_url"], data=data, headers={"Content-Type": mime}, timeout=60)
    assert put.status_code == 200, put.text
    return created["image"]["id"]


def originals_in_s3(image: Image) -> list[str]:
    listed = s3_client().list_objects_v2(
        Bucket=settings.STORAGES["default"]["OPTIONS"]["bucket_name"],
        Prefix=f"originals/{image.environment_id}/",
    )
    return [o["Key"] for o in listed.get("Contents", []) if str(image.id) in o["Key"]]


def settled_after_reconciling(image_ids, now=None):
    def check():
        reconcile(now)
        statuses = set(Image.objects.filter(id__in=image_ids).values_list("status", flat=True))
        return statuses <= {"READY", "QUARANTINE"}

    wait_for(check, timeout=120, interval=0.5)


def test_a_worker_killed_mid_processing_is_healed_by_the_reconciler(tenant, workers, settings):
    # A 144 MP PNG takes seconds to verify, long enough to kill the worker inside it.
    data = imagegen.png_solid(12000, 12000)
    # The stale deadline must exceed the longest processing time (about 3 s here), or the
    # reconciler would take over work that is still alive.
    settings.IMGWIRE_PROCESSING_STALE_SECONDS = 8
    workers.start(IMGWIRE_PROCESSING_STALE_SECONDS="8", IMGWIRE_DECODE_TIMEOUT_SECONDS="7")
    image_id = upload(tenant, data, "big.png", "image/png")
    wait_for(
        lambda: Image.objects.filter(id=image_id, status="PROCESSING").exists(),
        timeout=60,
        interval=0.01,
    )
    workers.kill()
    assert Image.objects.get(id=image_id).status == "PROCESSING"

    workers.start(IMGWIRE_PROCESSING_STALE_SECONDS="8", IMGWIRE_DECODE_TIMEOUT_SECONDS="7")
    settled_after_reconciling([image_id])
    image = Image.objects.get(id=image_id)
    assert image.status == "READY", image.status_reason
    assert (image.width, image.height) == (12000, 12000)
    assert image.processing_attempts >= 2
    assert originals_in_s3(image) == [image.original_key]
    assert Image.objects.filter(environment=tenant.environment).count() == 1
    workers.start()


def test_uploads_made_while_the_broker_is_down_are_processed_once_it_is_back(tenant, monkeypatch):
    from dramatiq.brokers.rabbitmq import RabbitmqBroker
    from dramatiq.brokers.redis import RedisBroker

    # A broker at an address where nothing listens: sends fail as in a real outage.
    if settings.IMGWIRE_BROKER_URL.startswith("redis"):
        unreachable = RedisBroker(url="redis://127.0.0.1:1/0")
    else:
        unreachable = RabbitmqBroker(url="amqp://guest:guest@127.0.0.1:1/%2F")
    monkeypatch.setattr(process_image, "broker", unreachable)

    samples = [
        (imagegen.jpeg(), "a.jpg", "image/jpeg"),
        (imagegen.png_rgba(), "b.png", "image/png"),
        (imagegen.webp(), "c.webp", "image/webp"),
        (imagegen.tiff(), "d.png", "image/png"),  # mislabelled: must end in QUARANTINE
    ]
    ids = [upload(tenant, *sample) for sample in samples]
    assert set(Image.objects.filter(id__in=ids).values_list("status", flat=True)) == {"PENDING"}

    monkeypatch.undo()  # the broker is back
    settled_after_reconciling(ids, now=timezone.now() + timedelta(minutes=5))
    statuses = dict(Image.objects.filter(id__in=ids).values_list("id", "status"))
    assert [statuses[uuid.UUID(i)] for i in ids] == ["READY", "READY", "READY", "QUARANTINE"]
    for image in Image.objects.filter(id__in=ids[:3]):
        assert originals_in_s3(image) == [image.original_key]
        assert image.processing_attempts == 1
