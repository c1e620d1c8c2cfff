"""Workers killed mid-job on real services (issue #18): the work is finished within the
aim (60 s of a healthy worker being there) through leases, never doubled while it runs;
installs with different queue prefixes on one broker keep to their own jobs."""

import os
from datetime import timedelta

import dramatiq
import pytest
import requests
from django.conf import settings
from django.utils import timezone

from images.models import DownloadStatus, Image, ImageDownloadJob
from images.services.maintenance import recover
from tests import imagegen
from tests.conftest import make_tenant
from tests.services.conftest import s3_client
from tests.services.recovery_support import pids_in_group, worker_process
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
AIM_SECONDS = 60
# Short leases make each test quick; the heartbeat must keep work alive through many.
LEASE = {"IMGWIRE_LEASE_SECONDS": "3"}


@pytest.fixture
def tenant(live):
    tenant = make_tenant("recover")
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


def recovered(condition):
    """Poll as the scheduler would (its recovery step, every tick) until ``condition``."""

    def check():
        recover()
        return condition()

    return wait_for(check, timeout=AIM_SECONDS, interval=0.5)


def test_a_worker_killed_mid_image_is_ready_within_the_aim(tenant, workers):
    # A 144 MP PNG takes seconds to verify, long enough to kill the worker inside it.
    workers.start(**LEASE)
    image_id = upload(tenant, imagegen.png_solid(12000, 12000), "big.png", "image/png")
    wait_for(
        lambda: Image.objects.filter(id=image_id, status="PROCESSING").exists(),
        timeout=60,
        interval=0.01,
    )
    workers.kill()
    assert Image.objects.get(id=image_id).status == "PROCESSING"

    workers.start(**LEASE)
    recovered(lambda: Image.objects.filter(id=image_id, status="READY").exists())
    image = Image.objects.get(id=image_id)
    assert (image.width, image.height, image.processing_attempts) == (12000, 12000, 2)


def test_an_image_still_being_processed_keeps_its_lease_and_is_processed_once(tenant, workers):
    workers.start(**LEASE)
    image_id = upload(tenant, imagegen.png_solid(12000, 12000), "big.png", "image/png")
    wait_for(
        lambda: Image.objects.filter(id=image_id, status="PROCESSING").exists(),
        timeout=60,
        interval=0.01,
    )
    # The reconciler runs all along; the heartbeat keeps the claim past many leases.
    recovered(lambda: Image.objects.filter(id=image_id, status="READY").exists())
    assert Image.objects.get(id=image_id).processing_attempts == 1


def big_originals(tenant, count: int, size: int) -> list[str]:
    """READY images whose stored originals are then replaced by ``size`` random bytes, so
    that zipping them takes long enough to kill the worker inside the build."""
    ids = [upload(tenant, imagegen.jpeg(), f"p{n}.jpg", "image/jpeg") for n in range(count)]
    wait_for(lambda: Image.objects.filter(id__in=ids, status="READY").count() == count)
    bucket = settings.STORAGES["default"]["OPTIONS"]["bucket_name"]
    client = s3_client()
    for image in Image.objects.filter(id__in=ids):
        client.put_object(Bucket=bucket, Key=image.original_key, Body=os.urandom(size))
    Image.objects.filter(id__in=ids).update(size_bytes=size)
    return ids


def test_a_worker_killed_mid_zip_finishes_the_download_within_the_aim(tenant, workers):
    workers.start(**LEASE)
    ids = big_originals(tenant, count=6, size=8 * 1024 * 1024)
    created = requests.post(
        f"{tenant.url}/api/v1/images/downloads",
        json={"image_ids": ids},
        headers=tenant.headers,
        timeout=30,
    )
    assert created.status_code in (200, 201, 202), created.text
    job_id = created.json()["id"]
    wait_for(
        lambda: ImageDownloadJob.objects.filter(id=job_id, status="PROCESSING").exists(),
        timeout=60,
        interval=0.01,
    )
    workers.kill()
    assert ImageDownloadJob.objects.get(id=job_id).status == DownloadStatus.PROCESSING

    workers.start(**LEASE)
    recovered(lambda: ImageDownloadJob.objects.filter(id=job_id, status="READY").exists())
    job = ImageDownloadJob.objects.get(id=job_id)
    assert job.attempts == 2
    assert job.size_bytes > 6 * 8 * 1024 * 1024


def test_a_download_whose_builds_keep_dying_ends_failed_with_a_reason(tenant, workers):
    ids = [upload(tenant, imagegen.jpeg(), "a.jpg", "image/jpeg")]
    wait_for(lambda: Image.objects.filter(id__in=ids, status="READY").exists())
    job = ImageDownloadJob.objects.create(
        environment=tenant.environment,
        image_ids=ids,
        expires_at=timezone.now() + timedelta(hours=1),
        status=DownloadStatus.PROCESSING,
        processing_started_at=timezone.now() - timedelta(minutes=1),
        lease_expires_at=timezone.now() - timedelta(seconds=1),
        attempts=settings.IMGWIRE_PROCESSING_MAX_ATTEMPTS,
    )
    recovered(lambda: ImageDownloadJob.objects.filter(id=job.id, status="FAILED").exists())
    assert "interrupted" in ImageDownloadJob.objects.get(id=job.id).failure_reason


def pending_with_bytes(tenant, count: int) -> list[str]:
    """Images whose bytes are stored but whose processing message was never sent."""
    ids, data = [], imagegen.jpeg()
    for n in range(count):
        created = requests.post(
            f"{tenant.url}/api/v1/images/standard_upload",
            json={"file_name": f"q{n}.jpg", "content_length": len(data)},
            headers=tenant.headers,
            timeout=30,
        ).json()
        image = Image.objects.get(id=created["image"]["id"])
        bucket = settings.STORAGES["default"]["OPTIONS"]["bucket_name"]
        s3_client().put_object(Bucket=bucket, Key=image.incoming_key, Body=data)
        Image.objects.filter(id=image.id).update(
            bytes_received_at=timezone.now(), enqueued_at=timezone.now()
        )
        ids.append(str(image.id))
    return ids


def test_installs_with_different_queue_prefixes_never_take_each_others_jobs(tenant, workers):
    from imgwire_site.broker import broker

    workers.stop()  # only the two installs' workers run
    installs = {}
    for prefix in ("install_a", "install_b"):
        process = worker_process({**workers.env, "IMGWIRE_QUEUE_PREFIX": prefix}).start()
        installs[prefix] = process
    try:
        sent = {}
        for prefix in installs:
            queue = f"{prefix}.images"
            broker.declare_queue(queue)
            sent[prefix] = pending_with_bytes(tenant, 4)
            for image_id in sent[prefix]:
                message = dramatiq.Message(
                    queue_name=queue,
                    actor_name="process_image",
                    args=(image_id,),
                    kwargs={},
                    options={},
                )
                broker.enqueue(message)
        everything = [i for ids in sent.values() for i in ids]
        wait_for(
            lambda: Image.objects.filter(id__in=everything, status="READY").count() == 8,
            timeout=AIM_SECONDS,
        )
        for prefix, process in installs.items():
            pids = {str(pid) for pid in pids_in_group(process.pid)}
            holders = Image.objects.filter(id__in=sent[prefix]).values_list(
                "lease_holder", flat=True
            )
            assert {holder.rpartition(":")[2] for holder in holders} <= pids, prefix
    finally:
        for process in installs.values():
            process.stop()
