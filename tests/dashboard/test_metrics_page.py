"""The dashboard's metrics page through the Django test client: the range picker (presets
and typed days, checked on the server), the previous period of the same length, the
chart data handed to charts.js, units, and the vendored chart library served by the app."""

import json
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.dashboard.conftest import signed_in
from tests.metrics.data import ready_image, usage

pytestmark = pytest.mark.django_db

MIB = 1024**2
WEEK = {"date_from": "2026-03-08", "date_to": "2026-03-14", "tz": "UTC"}


def _page(owner, **query):
    return signed_in(owner.user).get(f"/dashboard/{owner.environment.id}/metrics/", query)


def _chart(response, name: str) -> dict:
    return next(chart for chart in response.context["charts"] if chart["name"] == name)


def _chart_data(response) -> dict:
    found = re.search(
        rb'<script id="metrics-data" type="application/json">(.*?)</script>',
        response.content,
        re.S,
    )
    assert found, "the page has no chart data element"
    return json.loads(found.group(1))


@pytest.fixture
def two_weeks(owner):
    """Usage in the week of WEEK and in the week before it."""
    env = owner.environment
    usage(env, "2026-03-02T10:00:00Z", requests=20, cache_hits=5, transfer_bytes=MIB)
    usage(env, "2026-03-09T10:00:00Z", requests=30, cache_hits=15, transfer_bytes=3 * MIB)
    ready_image(env, "2026-03-03T08:00:00Z", 2 * MIB)
    ready_image(env, "2026-03-10T08:00:00Z", MIB)
    ready_image(env, "2026-03-10T09:00:00Z", MIB)
    return owner


def test_a_typed_range_shows_those_days_and_the_week_before_as_the_previous_period(two_weeks):
    response = _page(two_weeks, **WEEK)
    assert response.status_code == 200
    requests = _chart(response, "requests")
    assert [row["label"] for row in requests["table"]] == [f"2026-03-{d:02}" for d in range(8, 15)]
    assert [row["previous_label"] for row in requests["table"]] == [
        f"2026-03-{d:02}" for d in range(1, 8)
    ]
    assert [row["value"] for row in requests["table"]][:2] == ["0", "30"]
    assert [row["previous"] for row in requests["table"]][:2] == ["0", "20"]
    text = response.content.decode()
    assert "Showing 2026-03-08 to 2026-03-14 (7 buckets of one day, time zone UTC)" in text
    assert "previous period of the same length, 2026-03-01 to 2026-03-07" in text


def test_each_total_is_compared_with_the_previous_period_in_percent(two_weeks):
    response = _page(two_weeks, **WEEK)
    requests = _chart(response, "requests")
    assert (requests["value_text"], requests["prev_text"]) == ("30", "20")
    assert requests["change"] == {"text": "+50%", "direction": "up"}
    assert _chart(response, "uploads")["change"]["text"] == "+100%"
    assert _chart(response, "transfer_bytes")["change"]["text"] == "+200%"
    # Storage at each period's end: 2 MiB then 4 MiB.
    storage = _chart(response, "storage_bytes")
    assert (storage["value_text"], storage["prev_text"]) == ("4 MiB", "2 MiB")
    # A ratio's change is a difference of percentages: 25% to 50% is +25 points.
    assert _chart(response, "cache_hit_ratio")["change"]["text"] == "+25 percentage points"
    assert "+50%" in response.content.decode()


def test_a_total_without_an_earlier_one_says_so_instead_of_a_percentage(owner):
    usage(owner.environment, "2026-03-09T10:00:00Z", requests=7)
    change = _chart(_page(owner, **WEEK), "requests")["change"]
    assert change == {"text": "no data in the previous period", "direction": "none"}


def test_the_chart_data_carries_both_periods_for_charts_js(two_weeks):
    data = _chart_data(_page(two_weeks, **WEEK))
    assert data["tz"] == "UTC" and data["interval"] == "DAILY"
    assert data["x"][0] == 1772928000  # 2026-03-08T00:00:00Z
    assert len(data["x"]) == len(data["labels"]) == len(data["previousLabels"]) == 7
    series = {item["name"]: item for item in data["series"]}
    assert list(series) == [
        "uploads",
        "transformations",
        "requests",
        "transfer_bytes",
        "cache_hit_ratio",
        "storage_bytes",
    ]
    assert series["requests"]["current"] == [0, 30, 0, 0, 0, 0, 0]
    assert series["requests"]["previous"] == [0, 20, 0, 0, 0, 0, 0]
    assert series["cache_hit_ratio"]["current"][1] == 50
    assert series["cache_hit_ratio"]["previous"][1] == 25


def test_sizes_are_binary_units_and_the_page_says_so(two_weeks):
    response = _page(two_weeks, **WEEK)
    transfer = _chart(response, "transfer_bytes")
    assert transfer["title"] == "Transfer (MiB)"
    assert (transfer["unit"], transfer["factor"]) == ("MiB", MIB)
    assert transfer["table"][1]["value"] == "3 MiB"
    assert "1 MiB = 1024 KiB" in response.content.decode()
    assert " MB" not in response.content.decode()
    assert _chart(response, "cache_hit_ratio")["title"] == "Cache hit ratio (%)"


@pytest.mark.parametrize(("preset", "days"), [("7d", 7), ("30d", 30), ("90d", 90)])
def test_a_preset_shows_that_many_local_days_ending_today(owner, preset, days):
    response = _page(owner, range=preset, tz="Asia/Tokyo")
    assert response.status_code == 200
    today = timezone.now().astimezone(ZoneInfo("Asia/Tokyo")).date()
    labels = [row["label"] for row in _chart(response, "uploads")["table"]]
    assert len(labels) == days
    assert labels[-1] == today.isoformat()
    assert response.context["date_from"] == (today - timedelta(days=days - 1)).isoformat()
    assert response.context["date_to"] == today.isoformat()
    current = [p for p in response.context["presets"] if p["current"]]
    assert [p["label"] for p in current] == [f"Last {days} days"]
    assert 'aria-current="true"' in response.content.decode()


def test_the_preset_links_keep_the_interval_and_time_zone(owner):
    presets = _page(owner, interval="WEEKLY", tz="Europe/Paris").context["presets"]
    assert [p["href"].split("?", 1)[1] for p in presets] == [
        f"interval=WEEKLY&tz=Europe%2FParis&range={key}" for key in ("7d", "30d", "90d")
    ]


def test_a_reversed_range_says_what_was_wrong_and_marks_both_dates(owner):
    response = _page(owner, date_from="2026-03-14", date_to="2026-03-08")
    assert response.status_code == 400
    text = response.content.decode()
    assert "From 2026-03-14 is after To 2026-03-08: the range is reversed." in text
    assert re.search(r'id="date_from"[^>]*aria-invalid="true" aria-describedby="problem-1"', text)
    assert re.search(r'id="date_to"[^>]*aria-invalid="true" aria-describedby="problem-1"', text)
    assert re.search(r'<li class="error" id="problem-1">From 2026-03-14 is after', text)
    # What was typed stays in the form, to be corrected; the default range is drawn.
    assert response.context["date_from"] == "2026-03-14"
    assert len(_chart(response, "uploads")["rows"]) == 30


def test_a_range_longer_than_the_interval_allows_names_the_limit(owner):
    response = _page(owner, date_from="2020-01-01", date_to="2026-03-01")
    assert response.status_code == 400
    assert (
        "2020-01-01 to 2026-03-01 is too long for daily buckets: at most 731 (2 years)."
        in response.content.decode()
    )


def test_a_start_in_the_future_is_named(owner):
    future = (timezone.now() + timedelta(days=3)).date()
    response = _page(owner, date_from=future.isoformat())
    assert response.status_code == 400
    assert f"From {future} is in the future" in response.content.decode()


def test_an_unknown_preset_is_named_and_the_typed_dates_still_apply(owner):
    response = _page(owner, range="5y", **WEEK)
    assert response.status_code == 400
    assert "Range \u201c5y\u201d is not one of the presets" in response.content.decode()
    assert len(_chart(response, "uploads")["rows"]) == 7


def test_a_preset_with_typed_dates_says_the_preset_won(owner):
    response = _page(owner, range="7d", **WEEK)
    assert response.status_code == 400
    assert "Choose either a preset or From/To dates, not both" in response.content.decode()
    assert len(_chart(response, "uploads")["rows"]) == 7
    assert response.context["date_to"] == timezone.now().date().isoformat()


def test_the_page_has_no_inline_script_or_handler_of_its_own(owner):
    main = _page(owner).content.decode().split("<main>", 1)[1]
    scripts = re.findall(r"<script[^>]*>", main)
    assert scripts == ['<script id="metrics-data" type="application/json">']
    assert not re.search(r"\son[a-z]+=", main)
    assert " style=" not in main


def test_an_outsider_cannot_read_another_teams_metrics(owner, outsider):
    response = signed_in(outsider.user).get(
        f"/dashboard/{owner.environment.id}/metrics/", {"range": "7d"}
    )
    assert response.status_code == 404


def test_the_page_runs_a_fixed_number_of_queries_whatever_the_range_and_the_data(owner):
    client = signed_in(owner.user)
    url = f"/dashboard/{owner.environment.id}/metrics/"
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url, {"range": "7d"})
    now = timezone.now()
    for day in range(60):
        hour = (now - timedelta(days=day)).replace(minute=0, second=0, microsecond=0)
        usage(owner.environment, hour.isoformat(), requests=day, transfer_bytes=day * MIB)
        ready_image(owner.environment, hour.isoformat(), MIB)
    with CaptureQueriesContext(connection) as many:
        client.get(url, {"range": "90d", "interval": "HOURLY"})
    assert len(few) == len(many) == 14


def test_the_page_links_the_vendored_library_and_the_app_serves_it(owner, settings, tmp_path):
    page = _page(owner).content.decode()
    for url in (
        "/static/metrics/vendor/uPlot.iife.min.js",
        "/static/metrics/vendor/uPlot.min.css",
        "/static/metrics/charts.js",
        "/static/metrics/metrics.css",
    ):
        assert url in page, url
    # As `make run` serves them: collected into STATIC_ROOT, answered by WhiteNoise.
    settings.STATIC_ROOT = tmp_path
    call_command("collectstatic", interactive=False, verbosity=0)
    client = Client()  # a new client builds the middleware, so WhiteNoise reads the new root
    library = client.get("/static/metrics/vendor/uPlot.iife.min.js")
    assert library.status_code == 200
    body = b"".join(library.streaming_content)
    assert body.startswith(b"/*! https://github.com/leeoniya/uPlot (v1.6.32) */")
    assert library["Content-Type"].startswith("text/javascript")
    assert client.get("/static/metrics/charts.js").status_code == 200
    assert client.get("/static/metrics/vendor/uPlot.min.css").status_code == 200
