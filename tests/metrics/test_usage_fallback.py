"""When the durable counting store fails, delivery is still served and counted in memory."""

from unittest import mock

import pytest

from metrics import usage, usage_redis
from metrics.models import DeliveryUsageHour

pytestmark = pytest.mark.django_db


@pytest.fixture
def redis_unreachable(settings, monkeypatch):
    settings.IMGWIRE_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    monkeypatch.setattr(usage_redis, "_client", None)
    monkeypatch.setattr(usage, "_durable_down_until", 0.0)
    monkeypatch.setattr(usage, "_ensure_flusher", lambda: None)
    yield
    monkeypatch.setattr(usage_redis, "_client", None)


def test_counts_fall_back_to_memory_and_later_requests_do_not_wait_for_redis(
    owner, redis_unreachable
):
    with mock.patch.object(usage_redis, "record", wraps=usage_redis.record) as tried:
        for _ in range(3):
            usage.record_delivery(
                owner.environment.id, bytes_sent=7, cache_hit=False, rendered=True
            )
    assert tried.call_count == 1  # the next ones went straight to memory for a while
    assert usage.merge_batch(None, dict(usage._pending)) == 1
    row = DeliveryUsageHour.objects.get(environment=owner.environment)
    assert (row.requests, row.transfer_bytes, row.transformations) == (3, 21, 3)
