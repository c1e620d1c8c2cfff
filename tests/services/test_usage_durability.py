"""Delivery usage survives a kill -9 of the web process that counted it.

A real granian process (this pass's broker: Redis, or RabbitMQ with the spool folder)
serves N delivery requests and is killed with SIGKILL before its 10-second flush; a flush
from any other process then merges all N into the hourly rows, and the metrics API shows
them.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from django.db import connection

from metrics import usage_redis, usage_spool
from metrics.models import DeliveryUsageHour
from metrics.usage import counting_backend, flush_usage, merge_batch, record_delivery
from tests import imagegen
from tests.conftest import make_tenant
from tests.test_embedded_server import free_port
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
HITS = 40


@pytest.fixture
def ready_image(live):
    tenant = make_tenant("usage")
    headers = {"Authorization": f"Bearer {tenant.server_key}"}
    data = imagegen.jpeg(width=64, height=48)
    created = requests.post(
        f"{live}/api/v1/images/standard_upload",
        json={"file_name": "a.jpg", "content_length": len(data)},
        headers=headers,
        timeout=30,
    ).json()
    put = requests.put(
        created["upload_url"], data=data, headers={"Content-Type": "image/jpeg"}, timeout=30
    )
    assert put.status_code == 200, put.text

    def ready():
        image = requests.get(
            f"{live}/api/v1/images/{created['image']['id']}", headers=headers, timeout=30
        ).json()
        return image if image["status"] == "READY" else None

    image = wait_for(ready, timeout=90)
    tenant.cdn_path = urlsplit(image["cdn_url"]).path
    tenant.headers = headers
    tenant.live = live
    return tenant


@pytest.fixture
def web_process(tmp_path):
    """granian serving the product on the test database, in its own process group."""
    port = free_port()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        "IMGWIRE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "LOG_LEVEL": "WARNING",
        # Its own flusher never runs before the kill: the counts can only come through
        # the durable handoff.
        "IMGWIRE_USAGE_FLUSH_SECONDS": "3600",
    }
    env.pop("IMGWIRE_CDN_URL", None)
    log = open(tmp_path / "granian.log", "wb")  # noqa: SIM115 (closed at teardown)
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "granian", "--interface", "wsgi"),
            *("--host", "127.0.0.1", "--port", str(port), "--workers", "1"),
            *("--blocking-threads", "4", "--log-level", "warning"),
            "imgwire_site.wsgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"

    def healthy():
        assert process.poll() is None, (tmp_path / "granian.log").read_text()
        try:
            return requests.get(f"{base}/health", timeout=5).status_code == 200
        except requests.ConnectionError:
            return False

    wait_for(healthy, timeout=60)
    yield process, base
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=20)
    log.close()


def test_no_delivery_count_is_lost_when_the_web_process_is_killed(ready_image, web_process):
    assert counting_backend() in ("redis", "spool")
    process, base = web_process
    with requests.Session() as session:
        for _ in range(HITS):
            response = session.get(f"{base}{ready_image.cdn_path}", timeout=30)
            assert response.status_code == 200, response.text
    os.killpg(process.pid, signal.SIGKILL)  # long before its own flush would run
    process.wait(timeout=20)
    # Without a durable handoff the counts die here with the process (0 of HITS below).
    # Rows may already exist: this test process's own flusher may have merged part of the
    # shared store during the hits, which is exactly what a surviving process would do.
    rows = DeliveryUsageHour.objects.filter(environment=ready_image.environment)

    def merged() -> int:
        flush_usage()
        return sum(row.requests for row in rows.all())

    # SIGKILL returns before the kernel has finished tearing the worker down; with the spool
    # its file is adopted once its lock is gone (in production: the next flush, 10 s on).
    wait_for(lambda: merged() >= HITS, timeout=30)
    assert merged() == HITS  # and another flush finds nothing more, counts nothing twice
    stats = requests.get(
        f"{ready_image.live}/api/v1/metrics/stats", headers=ready_image.headers, timeout=30
    ).json()
    assert stats["requests"]["value"] == HITS


def _hand_off_without_merging() -> tuple[str, bytes | dict]:
    """What a flusher leaves when it dies right after its handoff: (batch id, contents)."""
    if counting_backend() == "redis":
        client = usage_redis._redis()
        key = f"{usage_redis.HANDOFF_PREFIX}died-{client.incr('imgwire:test:handoffs')}"
        client.rename(usage_redis.PENDING_KEY, key)
        return key, usage_redis._parse(client.hgetall(key))
    usage_spool._hand_off_own()
    ready = max(usage_spool.spool_dir().glob("*.ready"), key=lambda path: path.stat().st_mtime)
    return f"spool:{ready.name}", usage_spool._parse(ready.read_bytes())


def test_a_handoff_is_merged_once_whenever_its_flusher_died():
    tenant = make_tenant("handoff")
    rows = DeliveryUsageHour.objects.filter(environment=tenant.environment)

    def deliver(times: int) -> None:
        for _ in range(times):
            record_delivery(tenant.environment.id, bytes_sent=5, cache_hit=True, rendered=False)

    deliver(3)
    _hand_off_without_merging()  # died before its commit: the next flush merges it
    deliver(4)
    batch_id, batch = _hand_off_without_merging()
    merge_batch(batch_id, batch)  # died after its commit, before deleting the handoff
    assert sum(row.requests for row in rows.all()) == 4
    deliver(5)
    flush_usage()
    assert sum(row.requests for row in rows.all()) == 12
    assert sum(row.transfer_bytes for row in rows.all()) == 60
    flush_usage()
    assert sum(row.requests for row in rows.all()) == 12
