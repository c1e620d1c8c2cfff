"""Every series in every bucket, for each interval, across DST changes and odd offsets."""

from datetime import timedelta
from unittest import mock

import pytest

from metrics.models import DeliveryUsageHour
from tests.metrics.data import at, column, datasets, ready_image, timestamps, usage

pytestmark = pytest.mark.django_db


def every_hour(environment, first: str, last: str, **counts) -> None:
    """One usage row for each UTC hour from ``first`` to ``last`` inclusive."""
    hour, rows = at(first), []
    while hour <= at(last):
        rows.append(DeliveryUsageHour(environment=environment, hour=hour, **counts))
        hour += timedelta(hours=1)
    DeliveryUsageHour.objects.bulk_create(rows)


def test_hourly_buckets_carry_every_series(owner):
    env = owner.environment
    usage(env, "2026-01-09T23:00:00Z", requests=50)
    usage(
        env,
        "2026-01-10T00:00:00Z",
        requests=10,
        transfer_bytes=1000,
        cache_hits=7,
        transformations=3,
    )
    usage(
        env, "2026-01-10T02:00:00Z", requests=3, transfer_bytes=300, cache_hits=2, transformations=1
    )
    usage(env, "2026-01-10T03:00:00Z", requests=99)
    ready_image(env, "2026-01-09T12:00:00Z", 1000)
    ready_image(env, "2026-01-09T13:00:00Z", 400, deleted_at="2026-01-10T01:30:00Z")
    ready_image(env, "2026-01-10T01:15:00Z", 200)
    ready_image(env, "2026-01-10T01:59:59Z", 300)
    ready_image(env, "2026-01-10T02:10:00Z", 50, deleted_at="2026-01-10T02:40:00Z")
    ready_image(env, "2026-01-10T03:00:00Z", 7000)

    body = datasets(owner, date_start="2026-01-10T00:00:00Z", date_end="2026-01-10T03:00:00Z")

    assert timestamps(body) == [
        "2026-01-10T00:00:00Z",
        "2026-01-10T01:00:00Z",
        "2026-01-10T02:00:00Z",
    ]
    assert column(body, "uploads") == [0, 2, 1]
    assert column(body, "transformations") == [3, 0, 1]
    assert column(body, "requests") == [10, 0, 3]
    assert column(body, "transfer_bytes") == [1000, 0, 300]
    # 7 of 10; none of 0 (an empty bucket reads 0, the reference value is a non-null integer);
    # 2 of 3 rounds to 67.
    assert body["cache_hit_ratio"] == [
        {"label": "2026-01-10T00:00:00Z", "value": 70},
        {"label": "2026-01-10T01:00:00Z", "value": 0},
        {"label": "2026-01-10T02:00:00Z", "value": 67},
    ]
    assert column(body, "storage_bytes", "storage_bytes_added") == [0, 500, 50]
    # 1400 before the range; +500 and -400 in the second hour; +50 and -50 in the third.
    assert column(body, "storage_bytes", "storage_bytes_current") == [1400, 1500, 1500]


def test_images_that_never_became_ready_are_not_counted(owner):
    image = ready_image(owner.environment, "2026-01-10T00:10:00Z", 999)
    image.status = "QUARANTINE"
    image.save()
    body = datasets(owner, date_start="2026-01-10T00:00:00Z", date_end="2026-01-10T01:00:00Z")
    assert column(body, "uploads") == [0]
    assert column(body, "storage_bytes", "storage_bytes_current") == [0]


def test_daily_buckets_start_at_local_midnight(owner):
    env = owner.environment
    usage(env, "2026-01-09T22:00:00Z", requests=100)  # 23:00 in Paris on the 9th
    usage(env, "2026-01-09T23:00:00Z", requests=5)  # midnight in Paris
    usage(env, "2026-01-10T22:00:00Z", requests=1)
    usage(env, "2026-01-10T23:00:00Z", requests=2)
    ready_image(env, "2026-01-10T23:30:00Z", 10)

    body = datasets(
        owner, interval="DAILY", tz="Europe/Paris", date_start="2026-01-10", date_end="2026-01-12"
    )

    assert timestamps(body) == ["2026-01-10T00:00:00+01:00", "2026-01-11T00:00:00+01:00"]
    assert column(body, "requests") == [6, 2]
    assert column(body, "uploads") == [0, 1]


def test_weekly_buckets_start_on_monday(owner):
    env = owner.environment
    usage(env, "2026-03-01T23:00:00Z", requests=100)  # Sunday before the range
    usage(env, "2026-03-02T00:00:00Z", requests=1)
    usage(env, "2026-03-08T23:00:00Z", requests=2)
    usage(env, "2026-03-09T00:00:00Z", requests=4)
    usage(env, "2026-03-22T23:00:00Z", requests=8)
    usage(env, "2026-03-23T00:00:00Z", requests=100)

    # A Wednesday start and a Tuesday end widen to whole weeks.
    body = datasets(
        owner, interval="WEEKLY", date_start="2026-03-04T12:00:00Z", date_end="2026-03-17T00:00Z"
    )

    assert timestamps(body) == [
        "2026-03-02T00:00:00Z",
        "2026-03-09T00:00:00Z",
        "2026-03-16T00:00:00Z",
    ]
    assert column(body, "requests") == [3, 4, 8]


def test_monthly_buckets_follow_the_local_calendar_across_a_dst_change(owner):
    env = owner.environment
    usage(env, "2026-02-01T04:00:00Z", requests=100)  # Jan 31, 23:00 in New York
    usage(env, "2026-02-01T05:00:00Z", requests=1)
    usage(env, "2026-03-01T04:00:00Z", requests=2)  # Feb 28, 23:00
    usage(env, "2026-03-01T05:00:00Z", requests=4)
    usage(env, "2026-04-01T03:00:00Z", requests=8)  # Mar 31, 23:00 (EDT)
    usage(env, "2026-04-01T04:00:00Z", requests=100)  # Apr 1, 00:00
    ready_image(env, "2026-01-20T00:00:00Z", 1000)
    ready_image(env, "2026-03-15T00:00:00Z", 24)

    body = datasets(
        owner,
        interval="MONTHLY",
        tz="America/New_York",
        date_start="2026-02-15",
        date_end="2026-04-01",
    )

    assert timestamps(body) == ["2026-02-01T00:00:00-05:00", "2026-03-01T00:00:00-05:00"]
    assert column(body, "requests") == [3, 12]
    assert column(body, "storage_bytes", "storage_bytes_current") == [1000, 1024]
    assert column(body, "storage_bytes", "storage_bytes_added") == [0, 24]


def test_a_daily_range_across_spring_forward_has_a_23_hour_day(owner):
    every_hour(
        owner.environment,
        "2026-03-07T00:00:00Z",
        "2026-03-10T10:00:00Z",
        requests=1,
        transfer_bytes=10,
    )

    body = datasets(
        owner,
        interval="DAILY",
        tz="America/New_York",
        date_start="2026-03-07",
        date_end="2026-03-10",
    )

    assert timestamps(body) == [
        "2026-03-07T00:00:00-05:00",
        "2026-03-08T00:00:00-05:00",
        "2026-03-09T00:00:00-04:00",
    ]
    assert column(body, "requests") == [24, 23, 24]
    assert column(body, "transfer_bytes") == [240, 230, 240]


def test_a_daily_range_across_fall_back_has_a_25_hour_day(owner):
    every_hour(owner.environment, "2026-10-30T00:00:00Z", "2026-11-04T00:00:00Z", requests=1)

    body = datasets(
        owner,
        interval="DAILY",
        tz="America/New_York",
        date_start="2026-10-31",
        date_end="2026-11-03",
    )

    assert timestamps(body) == [
        "2026-10-31T00:00:00-04:00",
        "2026-11-01T00:00:00-04:00",
        "2026-11-02T00:00:00-05:00",
    ]
    assert column(body, "requests") == [24, 25, 24]


def test_the_repeated_fall_back_hour_gives_two_hourly_buckets(owner):
    for n, hour in enumerate(["04", "05", "06", "07"], start=1):
        usage(owner.environment, f"2026-11-01T{hour}:00:00Z", requests=n)

    body = datasets(
        owner,
        tz="America/New_York",
        date_start="2026-11-01T00:00:00-04:00",
        date_end="2026-11-01T03:00:00-05:00",
    )

    assert timestamps(body) == [
        "2026-11-01T00:00:00-04:00",
        "2026-11-01T01:00:00-04:00",
        "2026-11-01T01:00:00-05:00",
        "2026-11-01T02:00:00-05:00",
    ]
    assert column(body, "requests") == [1, 2, 3, 4]


def test_the_skipped_spring_forward_hour_has_no_bucket(owner):
    every_hour(owner.environment, "2026-03-08T04:00:00Z", "2026-03-08T09:00:00Z", requests=1)

    # Without an offset, date_start and date_end are local times in tz.
    body = datasets(
        owner,
        tz="America/New_York",
        date_start="2026-03-08T00:00:00",
        date_end="2026-03-08T04:00:00",
    )

    assert timestamps(body) == [
        "2026-03-08T00:00:00-05:00",
        "2026-03-08T01:00:00-05:00",
        "2026-03-08T03:00:00-04:00",
    ]
    assert column(body, "requests") == [1, 1, 1]


def test_a_half_hour_zone_attributes_each_utc_hour_to_the_bucket_holding_its_start(owner):
    env = owner.environment
    usage(env, "2026-01-09T18:00:00Z", requests=1)  # starts 23:30 on the 9th in Kolkata
    usage(env, "2026-01-09T19:00:00Z", requests=2)  # starts 00:30 on the 10th
    usage(env, "2026-01-10T18:00:00Z", requests=4)  # starts 23:30 on the 10th
    usage(env, "2026-01-10T19:00:00Z", requests=8)
    usage(env, "2026-01-11T18:00:00Z", requests=16)
    usage(env, "2026-01-11T19:00:00Z", requests=32)  # starts 00:30 on the 12th
    # 00:15 on the 10th in Kolkata, but in the UTC hour that starts on the 9th: attributed
    # like that hour, so uploads and requests always share their buckets.
    ready_image(env, "2026-01-09T18:45:00Z", 1)
    ready_image(env, "2026-01-09T19:10:00Z", 1)

    body = datasets(
        owner, interval="DAILY", tz="Asia/Kolkata", date_start="2026-01-10", date_end="2026-01-12"
    )

    assert timestamps(body) == ["2026-01-10T00:00:00+05:30", "2026-01-11T00:00:00+05:30"]
    assert column(body, "requests") == [6, 24]
    assert column(body, "uploads") == [1, 0]


def test_hourly_buckets_in_a_half_hour_zone_hold_one_utc_hour_each(owner):
    env = owner.environment
    for n, hour in enumerate(["18", "19", "20", "21"]):
        usage(env, f"2026-01-09T{hour}:00:00Z", requests=10**n)

    body = datasets(
        owner, tz="Asia/Kolkata", date_start="2026-01-10T00:00:00", date_end="2026-01-10T02:00:00"
    )

    assert timestamps(body) == ["2026-01-10T00:00:00+05:30", "2026-01-10T01:00:00+05:30"]
    assert column(body, "requests") == [10, 100]


def test_adelaide_has_a_25_hour_day_when_its_dst_ends(owner):
    every_hour(owner.environment, "2026-04-03T00:00:00Z", "2026-04-06T00:00:00Z", requests=1)

    body = datasets(
        owner,
        interval="DAILY",
        tz="Australia/Adelaide",
        date_start="2026-04-04",
        date_end="2026-04-06",
    )

    assert timestamps(body) == ["2026-04-04T00:00:00+10:30", "2026-04-05T00:00:00+10:30"]
    assert column(body, "requests") == [24, 25]


@pytest.mark.parametrize(
    ("interval", "count", "first", "last"),
    [
        ("HOURLY", 24, "2026-03-07T16:00:00Z", "2026-03-08T15:00:00Z"),
        ("DAILY", 30, "2026-02-07T00:00:00Z", "2026-03-08T00:00:00Z"),
        ("WEEKLY", 12, "2025-12-15T00:00:00Z", "2026-03-02T00:00:00Z"),
        ("MONTHLY", 12, "2025-04-01T00:00:00Z", "2026-03-01T00:00:00Z"),
    ],
)
def test_without_dates_the_range_ends_with_the_current_bucket(owner, interval, count, first, last):
    with mock.patch("django.utils.timezone.now", return_value=at("2026-03-08T15:20:00Z")):
        body = datasets(owner, interval=interval)
    assert len(body["uploads"]) == count
    assert timestamps(body)[0] == first
    assert timestamps(body)[-1] == last
    assert all(len(body[series]) == count for series in body)


def test_a_date_start_alone_runs_until_now(owner):
    usage(owner.environment, "2026-03-08T15:00:00Z", requests=3)
    with mock.patch("django.utils.timezone.now", return_value=at("2026-03-08T15:20:00Z")):
        body = datasets(owner, date_start="2026-03-08T10:00:00Z")
    assert timestamps(body)[0] == "2026-03-08T10:00:00Z"
    assert column(body, "requests") == [0, 0, 0, 0, 0, 3]


def test_an_unencoded_plus_in_the_offset_is_understood(owner):
    response = owner.server.get(
        "/api/v1/metrics/datasets?tz=Asia/Kolkata"
        "&date_start=2026-01-10T00:00:00+05:30&date_end=2026-01-10T01:00:00+05:30"
    )
    assert response.status_code == 200, response.content
    assert timestamps(response.json()) == ["2026-01-10T00:00:00+05:30"]


def test_empty_buckets_are_present_with_zeros(owner):
    body = datasets(owner, interval="DAILY", date_start="2026-01-01", date_end="2026-01-04")
    assert all(len(points) == 3 for points in body.values())
    for series in ("uploads", "transformations", "requests", "transfer_bytes", "cache_hit_ratio"):
        assert column(body, series) == [0, 0, 0]
    assert body["storage_bytes"][0] == {
        "timestamp": "2026-01-01T00:00:00Z",
        "storage_bytes_current": 0,
        "storage_bytes_added": 0,
    }
