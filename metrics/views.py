"""The dashboard's metrics page: the six series of a range of local days (typed, or a preset)
against the previous period of the same length, as charts with a data table under each.

The page is complete without JavaScript: each chart is first drawn on the server as an SVG
line, and the numbers are in the tables. ``metrics/static/metrics/charts.js`` then draws
uPlot charts (axes, tooltips) from the same numbers, read from a ``json_script`` element."""

from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from rest_framework import serializers

from imgwire_site.dashboard import member_view
from imgwire_site.dashboard_format import human_bytes
from metrics.datasets import (
    RULES,
    Interval,
    RangeError,
    metrics_columns,
    metrics_range,
    metrics_stats,
    previous_range,
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
# name, title, kind (count, bytes or percent), what the period's stat is.
SERIES = (
    ("uploads", "Uploads", "count", "uploads in the period"),
    ("transformations", "Transformations", "count", "transformations in the period"),
    ("requests", "Delivery requests", "count", "requests in the period"),
    ("transfer_bytes", "Transfer", "bytes", "delivered in the period"),
    ("cache_hit_ratio", "Cache hit ratio", "percent", "of the period's requests"),
    ("storage_bytes", "Storage", "bytes", "stored at the end of the period"),
)
PRESETS = {"7d": 7, "30d": 30, "90d": 90}
# Binary units, as everywhere in the dashboard (imgwire_site/dashboard_format.py).
BYTE_UNITS = (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024))
LABEL_FORMATS = {
    Interval.HOURLY: "%Y-%m-%d %H:%M",
    Interval.DAILY: "%Y-%m-%d",
    Interval.WEEKLY: "%Y-%m-%d",
    Interval.MONTHLY: "%Y-%m",
}
BUCKET_NAMES = {
    Interval.HOURLY: "hour",
    Interval.DAILY: "day",
    Interval.WEEKLY: "week (from Monday)",
    Interval.MONTHLY: "month",
}


class Problems:
    """What was wrong with the query, each message tied to the inputs it is about, so the
    template can mark those inputs (``aria-invalid``, ``aria-describedby``)."""

    def __init__(self):
        self.items: list[dict] = []

    def add(self, text: str, *fields: str) -> None:
        self.items.append({"id": f"problem-{len(self.items) + 1}", "text": text, "fields": fields})

    def described_by(self) -> dict[str, str]:
        ids: dict[str, list[str]] = {}
        for item in self.items:
            for field in item["fields"]:
                ids.setdefault(field, []).append(item["id"])
        return {field: " ".join(values) for field, values in ids.items()}

    def __bool__(self) -> bool:
        return bool(self.items)


def _zone(name: str, problems: Problems) -> ZoneInfo:
    try:
        # The API's own check: IANA names only, the message names the value.
        return MetricsQuerySerializer().validate_tz(name)
    except serializers.ValidationError as error:
        problems.add(f"{' '.join(str(m) for m in error.detail)} Showing UTC instead.", "tz")
        return ZoneInfo("UTC")


def _day(params, name: str, label: str, problems: Problems) -> date | None:
    raw = params.get(name, "")
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        day = None
    if day is None or not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        problems.add(
            f"{label} \u201c{raw[:64]}\u201d is not a date between the years {EARLIEST_YEAR} "
            f"and {LATEST_YEAR} (YYYY-MM-DD); showing the default range.",
            name,
        )
        return None
    return day


def _days(params, tz: ZoneInfo, problems: Problems) -> tuple[date | None, date | None, str]:
    """The first and last local day asked for (either may be missing), and the preset used."""
    preset = params.get("range", "")
    if preset in PRESETS:
        if params.get("date_from") or params.get("date_to"):
            problems.add(
                "Choose either a preset or From/To dates, not both; showing the preset.",
                "date_from",
                "date_to",
            )
        today = timezone.now().astimezone(tz).date()
        return today - timedelta(days=PRESETS[preset] - 1), today, preset
    if preset:
        problems.add(
            f"Range \u201c{preset[:64]}\u201d is not one of the presets (last 7, 30 or 90 "
            "days); showing the dates chosen, or the default range."
        )
    start = _day(params, "date_from", "From", problems)
    end = _day(params, "date_to", "To", problems)
    if start and end and start > end:
        problems.add(
            f"From {start} is after To {end}: the range is reversed. Swap the two dates or "
            "choose a preset; showing the default range.",
            "date_from",
            "date_to",
        )
        return None, None, ""
    return start, end, ""


def _range(start: date | None, end: date | None, interval: str, tz: ZoneInfo, problems):
    """The buckets from ``start`` to ``end`` (whole local days, both included), or the
    interval's default range when the metrics refuse them (and ``problems`` says why)."""
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
    except RangeError:
        # Reversed days were refused above, so the metrics refuse only a start in the
        # future (with no end) or more buckets than the interval allows.
        rules = RULES[interval]
        if start and start > now.astimezone(tz).date():
            text = f"From {start} is in the future: there is nothing to show yet."
        else:
            text = (
                f"{start} to {end or 'today'} is too long for {interval.lower()} buckets: "
                f"at most {rules.max_buckets} ({rules.span}). Choose a shorter range or a "
                "longer interval."
            )
        problems.add(f"{text} Showing the default range.", "date_from", "date_to")
        return metrics_range(interval=interval, tz=tz, date_start=None, date_end=None, now=now)


def chart(values: list, labels: list[str], previous: list | None = None) -> dict:
    """Polyline points in a WIDTH x HEIGHT box (y grows downwards), both series scaled to
    the larger maximum, for the page without JavaScript."""
    previous = previous or []
    top = max([*values, *previous], default=0) or 1
    step = (WIDTH - 2 * PAD) / max(len(values) - 1, 1)

    def points(series: list) -> str:
        return " ".join(
            f"{PAD + i * step:.1f},{HEIGHT - PAD - (HEIGHT - 2 * PAD) * v / top:.1f}"
            for i, v in enumerate(series)
        )

    return {
        "points": points(values),
        "previous_points": points(previous),
        "max": max(values, default=0),
        "first": labels[0] if labels else "",
        "last": labels[-1] if labels else "",
        "width": WIDTH,
        "height": HEIGHT,
        "rows": list(zip(labels, values, strict=True)),
    }


def _byte_unit(values: list[int]) -> tuple[str, int]:
    """The unit a chart's axis counts in: the largest binary unit its peak reaches."""
    peak = max(values, default=0)
    return next(((unit, size) for unit, size in BYTE_UNITS if peak >= size), ("bytes", 1))


def _shown(kind: str, value) -> str:
    if kind == "bytes":
        return human_bytes(value)
    if kind == "percent":
        return f"{value:g}%"
    return f"{value:,}"


def _change(kind: str, stat: dict) -> dict:
    """The change against the previous period: in percent of the previous total, except for
    the hit ratio, which is already a percentage (50% to 60% is +10 points, not +20%)."""
    if kind == "percent":
        if not stat["prev"] and not stat["value"]:
            return {"text": "no requests in either period", "direction": "none"}
        points = round(stat["value"] - stat["prev"], 2)
        return {
            "text": f"{points:+g} percentage points",
            "direction": "up" if points > 0 else "down" if points < 0 else "none",
        }
    if stat["pct_change"] is None:
        return {"text": "no data in the previous period", "direction": "none"}
    pct = stat["pct_change"]
    return {"text": f"{pct:+g}%", "direction": "up" if pct > 0 else "down" if pct < 0 else "none"}


def _series(name, title, kind, stat_label, current, previous, stat, labels, previous_labels):
    unit, factor = _byte_unit([*current, *previous]) if kind == "bytes" else ("", 1)
    axis = {"bytes": unit, "percent": "%", "count": ""}[kind]
    return {
        "name": name,
        "title": f"{title} ({axis})" if axis else title,
        "kind": kind,
        "unit": axis,
        "factor": factor,
        "stat": stat,
        "stat_label": stat_label,
        "value_text": _shown(kind, stat["value"]),
        "prev_text": _shown(kind, stat["prev"]),
        "change": _change(kind, stat),
        "table": [
            {
                "label": label,
                "value": _shown(kind, value),
                "previous_label": previous_label,
                "previous": _shown(kind, before),
            }
            for label, value, previous_label, before in zip(
                labels, current, previous_labels, previous, strict=True
            )
        ],
        **chart(current, labels, previous),
    }


def _presets(request, interval: str, tz: ZoneInfo, chosen: str) -> list[dict]:
    base = reverse("metrics", args=[request.environment.id])
    return [
        {
            "label": f"Last {days} days",
            "href": f"{base}?{urlencode({'interval': interval, 'tz': str(tz), 'range': key})}",
            "current": key == chosen,
        }
        for key, days in PRESETS.items()
    ]


@member_view()
def metrics_page(request):
    problems = Problems()
    interval = request.GET.get("interval", Interval.DAILY)
    if interval not in Interval.values:
        problems.add(
            f"Interval \u201c{interval[:64]}\u201d is not one of "
            f"{', '.join(v.lower() for v in Interval.values)}; showing daily.",
            "interval",
        )
        interval = Interval.DAILY
    tz = _zone(request.GET.get("tz", "UTC") or "UTC", problems)
    start, end, preset = _days(request.GET, tz, problems)
    metrics = _range(start, end, interval, tz, problems)
    previous = previous_range(metrics)
    current_columns, previous_columns = metrics_columns(request.environment, metrics)
    stats = metrics_stats(request.environment, metrics)
    fmt = LABEL_FORMATS[interval]
    labels = [moment.strftime(fmt) for moment in metrics.bucket_starts]
    previous_labels = [moment.strftime(fmt) for moment in previous.bucket_starts]
    charts = [
        _series(
            name,
            title,
            kind,
            stat_label,
            current_columns[name],
            previous_columns[name],
            stats[name],
            labels,
            previous_labels,
        )
        for name, title, kind, stat_label in SERIES
    ]
    chart_data = {
        "tz": str(tz),
        "interval": interval,
        # Bucket starts in Unix seconds: uPlot's time axis, drawn in ``tz``.
        "x": [int(moment.timestamp()) for moment in metrics.bucket_starts],
        "labels": labels,
        "previousLabels": previous_labels,
        "series": [
            {
                "name": chart["name"],
                "kind": chart["kind"],
                "unit": chart["unit"],
                "factor": chart["factor"],
                "current": current_columns[chart["name"]],
                "previous": previous_columns[chart["name"]],
            }
            for chart in charts
        ],
    }
    return render(
        request,
        "dashboard/metrics.html",
        {
            "charts": charts,
            "chart_data": chart_data,
            "interval": interval,
            "intervals": Interval.values,
            "bucket_name": BUCKET_NAMES[interval],
            "tz": str(tz),
            "zones": COMMON_ZONES,
            "date_from": start.isoformat() if preset else request.GET.get("date_from", ""),
            "date_to": end.isoformat() if preset else request.GET.get("date_to", ""),
            "presets": _presets(request, interval, tz, preset),
            "period": {"first": labels[0], "last": labels[-1], "buckets": len(labels)},
            "previous_period": {"first": previous_labels[0], "last": previous_labels[-1]},
            "problems": problems.items,
            "described_by": problems.described_by(),
        },
        status=400 if problems else 200,
    )
