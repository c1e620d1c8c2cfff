"""Outages on real services, with web, worker and scheduler processes started as
docs/deployment.md starts them (issue #18): the broker going away during uploads and
download creation loses nothing once it returns, and a PUT whose web worker is killed
mid-body can be retried at once."""

import os
import signal
import socket

import pytest
import requests
from django.conf import settings

from images.models import Image, ImageDownloadJob
from tests import imagegen
from tests.conftest import make_tenant
from tests.services.recovery_support import (
    free_port,
    wait_until_listening,
    web_process,
    web_worker_scheduler_through_relay,
)
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
AIM_SECONDS = 60


def create_upload(base: str, headers: dict, data: bytes, name: str = "a.jpg") -> dict:
    created = requests.post(
        f"{base}/api/v1/images/standard_upload",
        json={"file_name": name, "content_length": len(data)},
        headers=headers,
        timeout=30,
    )
    assert created.ok, created.text
    return created.json()


def put(upload_url: str, data: bytes) -> requests.Response:
    return requests.put(upload_url, data=data, headers={"Content-Type": "image/jpeg"}, timeout=60)


@pytest.fixture
def tenant(db):
    tenant = make_tenant("outage")
    tenant.headers = {"Authorization": f"Bearer {tenant.server_key}"}
    return tenant


@pytest.fixture
def through_relay(workers):
    """Web, worker and scheduler processes whose broker is reached through a relay."""
    with web_worker_scheduler_through_relay(workers, settings.IMGWIRE_BROKER_URL) as running:
        yield running


def test_uploads_and_downloads_made_while_the_broker_is_away_complete_once_it_returns(
    tenant, through_relay
):
    relay, base = through_relay
    data = imagegen.jpeg()
    first = create_upload(base, tenant.headers, data)
    assert put(first["upload_url"], data).status_code == 200
    wait_for(lambda: Image.objects.filter(id=first["image"]["id"], status="READY").exists())

    relay.stop()  # the broker is away: every send fails
    uploaded = [first["image"]["id"]]
    for n in range(3):
        created = create_upload(base, tenant.headers, data, name=f"during-{n}.jpg")
        assert put(created["upload_url"], data).status_code == 200
        uploaded.append(created["image"]["id"])
    download = requests.post(
        f"{base}/api/v1/images/downloads",
        json={"image_ids": [first["image"]["id"]]},
        headers=tenant.headers,
        timeout=30,
    )
    assert download.status_code in (200, 201, 202), download.text
    assert Image.objects.filter(id__in=uploaded[1:], status="PENDING").count() == 3

    relay.start()  # back: the scheduler re-sends what was never sent
    wait_for(
        lambda: (
            Image.objects.filter(id__in=uploaded, status="READY").count() == 4
            and ImageDownloadJob.objects.filter(id=download.json()["id"], status="READY").exists()
        ),
        timeout=AIM_SECONDS,
        interval=0.25,
    )


def start_put(upload_url: str, data: bytes) -> socket.socket:
    """A PUT that sends its headers and half its body, then stalls (a slow client)."""
    url = upload_url.removeprefix("http://")
    hostport, _, path = url.partition("/")
    host, _, port = hostport.partition(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    head = (
        f"PUT /{path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: image/jpeg\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    )
    sock.sendall(head.encode() + data[: len(data) // 2])
    return sock


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=5).ok
    except requests.ConnectionError:  # granian is respawning its worker
        return False


def test_a_put_whose_web_worker_is_killed_can_be_retried_at_once(tenant, workers):
    workers.ensure_running()
    port = free_port()
    web = web_process(workers.env, port).start()
    try:
        wait_until_listening(port, process=web.process)
        base = f"http://127.0.0.1:{port}"
        data = imagegen.jpeg(width=1200, height=900)
        created = create_upload(base, tenant.headers, data)
        image_id = created["image"]["id"]
        stalled = start_put(created["upload_url"], data)
        holder = wait_for(
            lambda: (
                Image.objects.filter(id=image_id, ingest_started_at__isnull=False)
                .values_list("lease_holder", flat=True)
                .first()
            )
        )
        os.kill(int(holder.rpartition(":")[2]), signal.SIGKILL)  # the web worker in the PUT
        stalled.close()
        wait_for(lambda: answers(f"{base}/health/live"), timeout=60, interval=0.1)

        image = requests.get(f"{base}/api/v1/images/{image_id}", headers=tenant.headers, timeout=30)
        assert image.json()["can_upload"] is True
        # One attempt, no waiting: the dead worker's claim is taken over, not waited out.
        retried = put(created["upload_url"], data)
        assert retried.status_code == 200, retried.text
        wait_for(lambda: Image.objects.filter(id=image_id, status="READY").exists())
    finally:
        web.stop()
