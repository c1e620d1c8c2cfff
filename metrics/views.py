"""The dashboard's metrics page: the six series as server-rendered SVG charts, and the
period's stats against the previous period of the same length."""

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.shortcuts import render
from django.utils import timezone

from imgwire_site.dashboard import member_view
from metrics.datasets import Interval, metrics_datasets, metrics_range, metrics_stats

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


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


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
    interval = request.GET.get("interval", Interval.DAILY)
    if interval not in Interval.values:
        interval = Interval.DAILY
    tz_name = request.GET.get("tz", "UTC")
    tz = _zone(tz_name)
    metrics = metrics_range(
        interval=interval, tz=tz, date_start=None, date_end=None, now=timezone.now()
    )
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
        },
    )
