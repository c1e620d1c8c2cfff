"""Delivery usage spooled to local files (the RabbitMQ installs' counting): a dead
process's counts are adopted, a batch is merged exactly once, a live process's file is
left alone. The kill -9 of a real server: tests/services/test_usage_durability.py."""

import subprocess
import sys
from datetime import UTC, datetime

import pytest

from metrics import usage_spool
from metrics.models import DeliveryUsageHour, UsageBatch
from metrics.usage import counting_backend, flush_usage, merge_batch, record_delivery

pytestmark = pytest.mark.django_db

HOUR = datetime(2026, 12, 2, 13, tzinfo=UTC)


@pytest.fixture(autouse=True)
def spooling(settings, tmp_path):
    settings.IMGWIRE_BROKER_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"  # never dialled
    settings.IMGWIRE_USAGE_SPOOL_DIR = str(tmp_path / "spool")
    usage_spool.discard()
    assert counting_backend() == "spool"
    yield tmp_path / "spool"
    usage_spool.discard()


def requests_counted(environment) -> int:
    return sum(
        DeliveryUsageHour.objects.filter(environment=environment).values_list("requests", flat=True)
    )


def test_each_delivery_is_on_disk_before_the_request_returns(owner, spooling):
    for _ in range(3):
        record_delivery(owner.environment.id, bytes_sent=10, cache_hit=True, rendered=False)
    (spool_file,) = spooling.glob("*.open")
    assert len(spool_file.read_text().splitlines()) == 3
    assert requests_counted(owner.environment) == 0  # no database write per request


def test_the_file_of_a_dead_process_is_adopted_and_merged(owner, spooling):
    spooling.mkdir(parents=True, exist_ok=True)
    env = owner.environment.id
    (spooling / "web-1-dead.open").write_text(
        f"{env} 2026120213 1 100 1 0\n{env} 2026120213 1 50 0 1\n"
    )
    flush_usage()
    row = DeliveryUsageHour.objects.get(environment=owner.environment, hour=HOUR)
    assert (row.requests, row.transfer_bytes, row.cache_hits, row.transformations) == (
        2,
        150,
        1,
        1,
    )
    assert list(spooling.iterdir()) == []


def test_a_batch_merged_just_before_its_flusher_died_is_not_counted_again(owner, spooling):
    for _ in range(3):
        record_delivery(owner.environment.id, bytes_sent=1, cache_hit=False, rendered=True)
    usage_spool._hand_off_own()
    (ready,) = spooling.glob("*.ready")
    # What a flusher killed between its commit and its unlink leaves behind:
    merge_batch(f"spool:{ready.name}", usage_spool._parse(ready.read_bytes()))
    assert ready.exists()
    flush_usage()
    assert requests_counted(owner.environment) == 3
    assert not ready.exists()
    assert UsageBatch.objects.filter(batch_id=f"spool:{ready.name}").exists()


def test_the_file_of_a_live_process_is_left_alone(owner, spooling):
    spooling.mkdir(parents=True, exist_ok=True)
    live = spooling / "web-2-alive.open"
    live.write_text(f"{owner.environment.id} 2026120213 1 1 0 0\n")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR); "
            "fcntl.lockf(fd, fcntl.LOCK_EX); print('locked', flush=True); sys.stdin.read()",
            str(live),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        flush_usage()
        assert live.exists()
        assert requests_counted(owner.environment) == 0
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    flush_usage()  # its process is gone now: adopted
    assert requests_counted(owner.environment) == 1


def test_lines_that_are_not_counts_are_ignored(owner, spooling):
    spooling.mkdir(parents=True, exist_ok=True)
    env = owner.environment.id
    (spooling / "web-3-dead.open").write_text(
        f"garbage\n{env} 20261302 1 1 1 1\n{env} 2026120213 1 2\n{env} 2026120213 1 7 0 0\n"
    )
    flush_usage()
    assert requests_counted(owner.environment) == 1
