"""The dashboard's metrics page: the six series as server-rendered SVG charts, and the
period's stats against the previous period of the same length."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.shortcuts import render
from django.utils import timezone
from rest_framework import serializers

from imgwire_site.dashboard import member_view
from metrics.datasets import (
    Interval,
    RangeError,
    metrics_datasets,
    metrics_range,
    metrics_stats,
)
from metrics.serializers import EARLIEST_YEAR, LATEST_YEAR, MetricsQuerySerializer

WIDTH, HEIGHT, PAD = 600, 160, 4
COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Asia/Tokyo",
    "Australia/Sydney",
)
SERIES = (
    ("uploads", "Uploads", "uploads", False),
    ("transformations", "Transformations", "transformations", False),
    ("requests", "Delivery requests", "requests", False),
    ("transfer_bytes", "Transfer", "transfer_bytes", True),
    ("cache_hit_ratio", "Cache hit ratio (%)", "value", False),
    ("storage_bytes", "Storage", "storage_bytes_current", True),
)


def _zone(name: str, problems: list[str]) -> ZoneInfo:
    try:
        # The API's own check: IANA names only, the message names the value.
        return MetricsQuerySerializer().validate_tz(name)
    except serializers.ValidationError as error:
        problems.append(f"{' '.join(str(m) for m in error.detail)} Showing UTC instead.")
        return ZoneInfo("UTC")


def _day(params, name: str, label: str, problems: list[str]) -> date | None:
    raw = params.get(name, "")
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        day = None
    if day is None or not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        problems.append(
            f"{label} \u201c{raw[:64]}\u201d is not a date between the years {EARLIEST_YEAR} "
            f"and {LATEST_YEAR} (YYYY-MM-DD); showing the default range."
        )
        return None
    return day


def _range(params, interval: str, tz: ZoneInfo, problems: list[str]):
    """The buckets from ``date_from`` to ``date_to`` (whole local days, both included), or
    the interval's default range when they are missing or wrong (and ``problems`` says so)."""
    start = _day(params, "date_from", "From", problems)
    end = _day(params, "date_to", "To", problems)
    now = timezone.now()

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(), tzinfo=tz)

    try:
        return metrics_range(
            interval=interval,
            tz=tz,
            date_start=start and midnight(start),
            date_end=end and midnight(end + timedelta(days=1)),
            now=now,
        )
    except RangeError as error:
        problems.append(
            f"The range {start or ''} \u2013 {end or ''} was ignored: {error} "
            "Showing the default range."
        )
        return metrics_range(interval=interval, tz=tz, date_start=None, date_end=None, now=now)


def chart(values: list, labels: list[str]) -> dict:
    """Polyline points in a WIDTH x HEIGHT box (y grows downwards), scaled to the maximum."""
    top = max(values, default=0) or 1
    step = (WIDTH - 2 * PAD) / max(len(values) - 1, 1)
    points = " ".join(
        f"{PAD + i * step:.1f},{HEIGHT - PAD - (HEIGHT - 2 * PAD) * v / top:.1f}"
        for i, v in enumerate(values)
    )
    return {
        "points": points,
        "max": max(values, default=0),
        "first": labels[0] if labels else "",
        "last": labels[-1] if labels else "",
        "width": WIDTH,
        "height": HEIGHT,
        "rows": list(zip(labels, values, strict=True)),
    }


@member_view()
def metrics_page(request):
    problems: list[str] = []
    interval = request.GET.get("interval", Interval.DAILY)
    if interval not in Interval.values:
        problems.append(
            f"Interval \u201c{interval[:64]}\u201d is not one of "
            f"{', '.join(v.lower() for v in Interval.values)}; showing daily."
        )
        interval = Interval.DAILY
    tz = _zone(request.GET.get("tz", "UTC") or "UTC", problems)
    metrics = _range(request.GET, interval, tz, problems)
    datasets = metrics_datasets(request.environment, metrics)
    stats = metrics_stats(request.environment, metrics)
    fmt = "%Y-%m-%d %H:%M" if interval == Interval.HOURLY else "%Y-%m-%d"
    labels = [start.strftime(fmt) for start in metrics.bucket_starts]
    charts = [
        {
            "name": name,
            "title": title,
            "bytes": is_bytes,
            "stat": stats[name],
            **chart([point[field] for point in datasets[name]], labels),
        }
        for name, title, field, is_bytes in SERIES
    ]
    return render(
        request,
        "dashboard/metrics.html",
        {
            "charts": charts,
            "interval": interval,
            "intervals": Interval.values,
            "tz": str(tz),
            "zones": COMMON_ZONES,
            "date_from": request.GET.get("date_from", ""),
            "date_to": request.GET.get("date_to", ""),
            "problems": problems,
        },
        status=400 if problems else 200,
    )
