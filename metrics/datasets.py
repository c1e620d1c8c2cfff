"""Metrics datasets and stats: hourly UTC sources folded into buckets of local time.

Every source is hourly and in UTC: ``DeliveryUsageHour`` rows, and READY images grouped in
the database by the UTC hour of ``processed_metadata_at`` (uploads, bytes added) and of
``deleted_at`` (bytes removed). Each UTC hour is attributed to the local bucket that
contains its start, in one pass over at most range-length hourly rows; in zones with a
:30 or :45 offset a DAILY bucket therefore covers the UTC hours starting in that local
day (docs/metrics.md). Bucket boundaries are computed on the local calendar, so a DAILY
bucket is a local day of 23, 24 or 25 hours, and the repeated fall-back hour gives two
HOURLY buckets with different UTC offsets.
"""

from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import models
from django.db.models import Count, Sum
from django.db.models.functions import TruncHour

from images.models import Image
from metrics.models import DeliveryUsageHour

HOUR = timedelta(hours=1)


class Interval(models.TextChoices):
    HOURLY = "HOURLY"
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"


@dataclass(frozen=True)
class IntervalRules:
    default_buckets: int
    max_buckets: int
    # An upper bound of one bucket's length, to refuse absurd ranges before enumerating them.
    longest_bucket: timedelta
    span: str


RULES = {
    Interval.HOURLY: IntervalRules(24, 2208, HOUR, "92 days"),
    Interval.DAILY: IntervalRules(30, 731, timedelta(hours=25), "2 years"),
    Interval.WEEKLY: IntervalRules(12, 260, timedelta(days=7, hours=1), "5 years"),
    Interval.MONTHLY: IntervalRules(12, 60, timedelta(days=31, hours=1), "5 years"),
}


class RangeError(ValueError):
    """A date range the endpoints refuse; ``parameter`` names the query parameter to blame."""

    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True)
class MetricsRange:
    interval: str
    tz: ZoneInfo
    # UTC instants: bucket i is [boundaries[i], boundaries[i + 1]).
    boundaries: tuple[datetime, ...]

    @property
    def bucket_starts(self) -> list[datetime]:
        return [boundary.astimezone(self.tz) for boundary in self.boundaries[:-1]]

    def previous_start(self) -> datetime:
        """Start of the range of the same number of buckets just before this one."""
        return _step(self.boundaries[0], self.interval, self.tz, 1 - len(self.boundaries))


def iso(moment: datetime) -> str:
    """ISO 8601 in the bucket's own offset, with DRF's ``Z`` for UTC."""
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# --- Bucket boundaries on the local calendar ------------------------------------------


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    # fold=0: where midnight does not exist (a DST jump at 00:00) this lands on the instant
    # of the jump, which is where that local day really begins.
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def _floor(instant: datetime, interval: str, tz: ZoneInfo) -> datetime:
    local = instant.astimezone(tz)
    if interval == Interval.HOURLY:
        # replace() keeps ``fold``, so the second 01:00 of a fall-back stays the second one.
        return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    day = local.date()
    if interval == Interval.WEEKLY:
        day -= timedelta(days=day.weekday())
    elif interval == Interval.MONTHLY:
        day = day.replace(day=1)
    return _midnight(day, tz)


def _step(boundary: datetime, interval: str, tz: ZoneInfo, count: int) -> datetime:
    """The boundary ``count`` buckets after (or before, when negative) ``boundary``."""
    if interval == Interval.HOURLY:
        return _step_hours(boundary, tz, count)
    day = boundary.astimezone(tz).date()
    if interval == Interval.DAILY:
        return _midnight(day + timedelta(days=count), tz)
    if interval == Interval.WEEKLY:
        return _midnight(day + timedelta(weeks=count), tz)
    months = day.year * 12 + day.month - 1 + count
    return _midnight(date(months // 12, months % 12 + 1, 1), tz)


def _step_hours(boundary: datetime, tz: ZoneInfo, count: int) -> datetime:
    # Local hours are not always 60 minutes apart (Australia/Lord_Howe shifts by 30), so
    # walk them one by one; in every other zone this lands on boundary + count hours.
    for _ in range(abs(count)):
        if count > 0:
            following = _floor(boundary + HOUR, Interval.HOURLY, tz)
            boundary = following if following > boundary else boundary + HOUR
        else:
            boundary = _floor(boundary - timedelta(microseconds=1), Interval.HOURLY, tz)
    return boundary


def _ceil(instant: datetime, interval: str, tz: ZoneInfo) -> datetime:
    floor = _floor(instant, interval, tz)
    return floor if floor == instant else _step(floor, interval, tz, 1)


def metrics_range(
    *,
    interval: str,
    tz: ZoneInfo,
    date_start: datetime | None,
    date_end: datetime | None,
    now: datetime,
) -> MetricsRange:
    """Whole buckets covering [date_start, date_end): the start is floored to its bucket and
    the (exclusive) end raised to the next boundary. Without date_end the range ends with
    the bucket holding ``now``; without date_start it holds the interval's default count."""
    rules = RULES[interval]
    if date_start is not None and date_end is not None and date_start >= date_end:
        raise RangeError("date_end", "date_end must be later than date_start.")
    end = _ceil(date_end or now, interval, tz)
    if date_start is None:
        start = _step(end, interval, tz, -rules.default_buckets)
    else:
        start = _floor(date_start, interval, tz)
        if start >= end:
            raise RangeError(
                "date_start", "date_start must be earlier than date_end (which defaults to now)."
            )
    too_long = RangeError(
        "date_start" if date_start is not None else "date_end",
        f"A {interval} range may hold at most {rules.max_buckets} buckets ({rules.span}); "
        f"this one spans {(end - start).days} days. Narrow date_start/date_end or choose "
        "a longer interval.",
    )
    if end - start > rules.max_buckets * rules.longest_bucket:
        raise too_long
    boundaries = [start]
    while boundaries[-1] < end:
        if len(boundaries) > rules.max_buckets:
            raise too_long
        boundaries.append(min(_step(boundaries[-1], interval, tz, 1), end))
    return MetricsRange(interval=interval, tz=tz, boundaries=tuple(boundaries))


# --- Folding the hourly sources into buckets ------------------------------------------

USAGE_FIELDS = ("requests", "transfer_bytes", "cache_hits", "transformations")
SUMS = (*USAGE_FIELDS, "uploads", "storage_added", "storage_removed")


def _hour_ceil(instant: datetime) -> datetime:
    floor = instant.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return floor if floor == instant else floor + HOUR


def _ready_images(environment):
    # order_by() drops Image's default ordering, which would otherwise join the GROUP BY.
    return Image.objects.ready_history_for(environment).order_by()


@dataclass
class Folded:
    sums: dict[str, list[int]]
    storage_before: int

    def storage_current(self) -> list[int]:
        """Bytes of READY, not deleted images at the end of each bucket."""
        running, current = self.storage_before, []
        for added, removed in zip(
            self.sums["storage_added"], self.sums["storage_removed"], strict=True
        ):
            running += added - removed
            current.append(running)
        return current


def fold(environment, boundaries: tuple[datetime, ...]) -> Folded:
    """Sum every source into the buckets between ``boundaries``: four queries in all,
    whatever the number of buckets."""
    count = len(boundaries) - 1
    # The UTC hours whose start lies in [boundaries[0], boundaries[-1]).
    first, last = _hour_ceil(boundaries[0]), _hour_ceil(boundaries[-1])
    sums = {name: [0] * count for name in SUMS}

    def bucket(hour: datetime) -> int:
        return bisect_right(boundaries, hour) - 1

    usage = (
        DeliveryUsageHour.objects.for_environment(environment)
        .in_hours(first, last)
        .values_list("hour", *USAGE_FIELDS)
    )
    for hour, *values in usage:
        index = bucket(hour)
        for name, value in zip(USAGE_FIELDS, values, strict=True):
            sums[name][index] += value

    images = _ready_images(environment)
    uploads = (
        images.filter(processed_metadata_at__gte=first, processed_metadata_at__lt=last)
        .annotate(utc_hour=TruncHour("processed_metadata_at", tzinfo=UTC))
        .values("utc_hour")
        .annotate(uploads=Count("id"), size=Sum("size_bytes"))
        .values_list("utc_hour", "uploads", "size")
    )
    for hour, uploaded, size in uploads:
        index = bucket(hour)
        sums["uploads"][index] += uploaded
        sums["storage_added"][index] += size or 0

    deletions = (
        images.filter(deleted_at__gte=first, deleted_at__lt=last)
        .annotate(utc_hour=TruncHour("deleted_at", tzinfo=UTC))
        .values("utc_hour")
        .annotate(size=Sum("size_bytes"))
        .values_list("utc_hour", "size")
    )
    for hour, size in deletions:
        sums["storage_removed"][bucket(hour)] += size or 0

    before = (
        images.filter(processed_metadata_at__lt=first)
        .exclude(deleted_at__lt=first)
        .aggregate(total=Sum("size_bytes"))["total"]
    )
    return Folded(sums=sums, storage_before=before or 0)


# --- The two read models ---------------------------------------------------------------


def _percent(hits: int, requests: int) -> int:
    """Whole percent, rounded half up; 0 for a bucket without requests (the reference
    point's ``value`` is a non-null integer)."""
    return (200 * hits + requests) // (2 * requests) if requests else 0


def metrics_datasets(environment, metrics: MetricsRange) -> dict:
    folded = fold(environment, metrics.boundaries)
    sums = folded.sums
    starts = metrics.bucket_starts

    def series(name: str) -> list[dict]:
        return [{"timestamp": t, name: v} for t, v in zip(starts, sums[name], strict=True)]

    return {
        "uploads": series("uploads"),
        "transformations": series("transformations"),
        "requests": series("requests"),
        "transfer_bytes": series("transfer_bytes"),
        "cache_hit_ratio": [
            {"label": iso(t), "value": _percent(hits, requests)}
            for t, hits, requests in zip(starts, sums["cache_hits"], sums["requests"], strict=True)
        ],
        "storage_bytes": [
            {"timestamp": t, "storage_bytes_current": current, "storage_bytes_added": added}
            for t, current, added in zip(
                starts, folded.storage_current(), sums["storage_added"], strict=True
            )
        ],
    }


def _stat(value: int | float, prev: int | float) -> dict:
    pct_change = round((value - prev) / prev * 100, 2) if prev else None
    return {"value": value, "prev": prev, "pct_change": pct_change}


def _ratio(hits: int, requests: int) -> float:
    return round(100 * hits / requests, 2) if requests else 0


def metrics_stats(environment, metrics: MetricsRange) -> dict:
    """The range against the same number of buckets just before it. Sums for the counters;
    the cache hit ratio over all requests of each range; storage as of each range's end."""
    previous_start = metrics.previous_start()
    folded = fold(environment, (previous_start, metrics.boundaries[0], metrics.boundaries[-1]))
    sums = folded.sums
    storage = folded.storage_current()

    def counter(name: str) -> dict:
        return _stat(sums[name][1], sums[name][0])

    return {
        "uploads": counter("uploads"),
        "transformations": counter("transformations"),
        "requests": counter("requests"),
        "transfer_bytes": counter("transfer_bytes"),
        "cache_hit_ratio": _stat(
            _ratio(sums["cache_hits"][1], sums["requests"][1]),
            _ratio(sums["cache_hits"][0], sums["requests"][0]),
        ),
        "storage_bytes": _stat(storage[1], storage[0]),
    }


# --- The dashboard's comparison --------------------------------------------------------


def previous_range(metrics: MetricsRange) -> MetricsRange:
    """The same number of buckets just before ``metrics``, ending where it starts."""
    boundaries = [metrics.previous_start()]
    for _ in range(len(metrics.boundaries) - 2):
        boundaries.append(_step(boundaries[-1], metrics.interval, metrics.tz, 1))
    boundaries.append(metrics.boundaries[0])
    return MetricsRange(interval=metrics.interval, tz=metrics.tz, boundaries=tuple(boundaries))


def metrics_columns(environment, metrics: MetricsRange) -> tuple[dict, dict]:
    """Each series as one value per bucket, for ``metrics`` and for its previous period
    (``previous_range``): the two ranges are adjacent, so one fold over both costs the same
    four queries as ``metrics_datasets``. Values as in the datasets: whole-percent ratios,
    storage as of each bucket's end."""
    previous = previous_range(metrics)
    count = len(previous.boundaries) - 1
    folded = fold(environment, previous.boundaries[:-1] + metrics.boundaries)
    sums = folded.sums
    both = {
        "uploads": sums["uploads"],
        "transformations": sums["transformations"],
        "requests": sums["requests"],
        "transfer_bytes": sums["transfer_bytes"],
        "cache_hit_ratio": [
            _percent(hits, requests)
            for hits, requests in zip(sums["cache_hits"], sums["requests"], strict=True)
        ],
        "storage_bytes": folded.storage_current(),
    }
    return (
        {name: values[count:] for name, values in both.items()},
        {name: values[:count] for name, values in both.items()},
    )
