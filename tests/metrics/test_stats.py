"""Stats compare a range with the same number of buckets just before it."""

import pytest

from tests.metrics.data import ready_image, stats, usage

pytestmark = pytest.mark.django_db


def test_each_stat_compares_with_the_previous_range(owner):
    env = owner.environment
    usage(env, "2026-01-07T23:00:00Z", requests=1000)  # before the previous range
    usage(
        env,
        "2026-01-08T05:00:00Z",
        requests=10,
        cache_hits=5,
        transfer_bytes=100,
        transformations=2,
    )
    usage(env, "2026-01-11T05:00:00Z", requests=20, cache_hits=20, transfer_bytes=300)
    usage(env, "2026-01-12T00:00:00Z", requests=1000)  # after the range
    ready_image(env, "2026-01-01T00:00:00Z", 800)
    ready_image(env, "2026-01-09T01:00:00Z", 100)
    ready_image(env, "2026-01-09T02:00:00Z", 100)
    ready_image(env, "2026-01-10T00:00:00Z", 100)
    ready_image(env, "2026-01-11T10:00:00Z", 100)
    ready_image(env, "2026-01-11T23:59:00Z", 100)

    body = stats(owner, interval="DAILY", date_start="2026-01-10", date_end="2026-01-12")

    assert body == {
        "uploads": {"value": 3, "prev": 2, "pct_change": 50.0},
        "transformations": {"value": 0, "prev": 2, "pct_change": -100.0},
        "requests": {"value": 20, "prev": 10, "pct_change": 100.0},
        "transfer_bytes": {"value": 300, "prev": 100, "pct_change": 200.0},
        # Percent of requests from the cache over each whole range; the change is relative.
        "cache_hit_ratio": {"value": 100.0, "prev": 50.0, "pct_change": 100.0},
        # Stored bytes at the end of each range.
        "storage_bytes": {"value": 1300, "prev": 1000, "pct_change": 30.0},
    }


def test_pct_change_is_null_when_the_previous_value_is_zero(owner):
    usage(owner.environment, "2026-01-11T05:00:00Z", requests=4, cache_hits=1)

    body = stats(owner, interval="DAILY", date_start="2026-01-10", date_end="2026-01-12")

    assert body["requests"] == {"value": 4, "prev": 0, "pct_change": None}
    assert body["cache_hit_ratio"] == {"value": 25.0, "prev": 0, "pct_change": None}
    assert body["uploads"] == {"value": 0, "prev": 0, "pct_change": None}


def test_a_monthly_range_is_compared_with_the_previous_calendar_months(owner):
    env = owner.environment
    ready_image(env, "2026-01-31T23:00:00Z", 1)
    ready_image(env, "2026-02-01T00:00:00Z", 1)
    ready_image(env, "2026-02-28T23:00:00Z", 1)
    ready_image(env, "2026-03-31T23:00:00Z", 1)

    body = stats(owner, interval="MONTHLY", date_start="2026-03-01", date_end="2026-04-01")

    assert body["uploads"] == {"value": 1, "prev": 2, "pct_change": -50.0}
    assert body["storage_bytes"] == {"value": 4, "prev": 3, "pct_change": 33.33}


def test_the_previous_range_of_a_dst_day_is_the_local_day_before(owner):
    # In New York, 2026-03-08 is 23 hours long and 2026-03-07 is 24 hours long.
    usage(owner.environment, "2026-03-07T05:00:00Z", requests=1)  # Mar 7, 00:00 EST
    usage(owner.environment, "2026-03-07T04:00:00Z", requests=100)  # Mar 6, 23:00 EST

    body = stats(
        owner,
        interval="DAILY",
        tz="America/New_York",
        date_start="2026-03-08",
        date_end="2026-03-09",
    )

    assert body["requests"] == {"value": 0, "prev": 1, "pct_change": -100.0}
