"""Whatever the zone's rules, each UTC hour lands in exactly one bucket."""

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from metrics.models import DeliveryUsageHour
from tests.metrics.data import at, datasets

pytestmark = pytest.mark.django_db

ODD_ZONES = [
    "Australia/Lord_Howe",  # DST shifts by 30 minutes
    "America/Santiago",  # DST changes at midnight
    "Pacific/Chatham",  # +12:45 / +13:45
    "Asia/Kathmandu",  # +05:45
    "America/St_Johns",  # -03:30 / -02:30
    "Africa/Casablanca",  # DST suspended during Ramadan
]


def one_request_per_hour(environment, first: str, last: str) -> int:
    hours = int((at(last) - at(first)) / timedelta(hours=1))
    DeliveryUsageHour.objects.bulk_create(
        DeliveryUsageHour(
            environment=environment, hour=at(first) + n * timedelta(hours=1), requests=1
        )
        for n in range(hours)
    )
    return hours


def hour_starts_between(start: datetime, end: datetime) -> int:
    """How many UTC hours start in [start, end)."""
    first = start.astimezone(UTC).replace(minute=0, second=0)
    first += timedelta(hours=1) if first < start else timedelta()
    return math.ceil((end - first) / timedelta(hours=1))


@pytest.mark.parametrize("tz", ODD_ZONES)
def test_every_utc_hour_is_counted_once_in_daily_and_hourly_buckets(owner, tz):
    one_request_per_hour(owner.environment, "2025-12-30T00:00:00Z", "2027-01-03T00:00:00Z")

    body = datasets(owner, interval="DAILY", tz=tz, date_start="2026-01-01", date_end="2027-01-01")
    counts = [point["requests"] for point in body["requests"]]
    assert len(counts) == 365
    assert all(23 <= count <= 25 for count in counts)
    start = datetime.fromisoformat(body["requests"][0]["timestamp"])
    assert sum(counts) == hour_starts_between(start, datetime(2027, 1, 1, tzinfo=ZoneInfo(tz)))

    # A month around each DST change of both hemispheres.
    for date_start, date_end in [("2026-03-15", "2026-04-14"), ("2026-09-20", "2026-10-20")]:
        body = datasets(owner, tz=tz, date_start=date_start, date_end=date_end)
        counts = [point["requests"] for point in body["requests"]]
        starts = [datetime.fromisoformat(point["timestamp"]) for point in body["requests"]]
        assert len(set(starts)) == len(starts)
        end = datetime.fromisoformat(date_end).replace(tzinfo=ZoneInfo(tz))
        assert sum(counts) == hour_starts_between(starts[0], end)
        if tz == "Australia/Lord_Howe":
            # Its 30-minute shift makes one half-hour bucket, which holds no UTC hour start
            # when the clocks go forward.
            assert set(counts) <= {0, 1} and counts.count(0) <= 1
        else:
            assert set(counts) == {1}
