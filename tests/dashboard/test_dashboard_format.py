"""Sizes and dates in the one format every dashboard page and email uses."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from django.template import Context, Template

from imgwire_site.dashboard_format import human_bytes, human_date, human_datetime


@pytest.mark.parametrize(
    "value,text",
    [
        (0, "0 bytes"),
        (1, "1 byte"),
        (1023, "1023 bytes"),
        (1024, "1 KiB"),
        (1536, "1.5 KiB"),
        (100 * 1024, "100 KiB"),
        (48 * 1024**2 + 1, "48 MiB"),
        (3 * 1024**3 // 2, "1.5 GiB"),
        (2 * 1024**4, "2 TiB"),
        (-2048, "-2 KiB"),
        (None, ""),
        ("not a number", ""),
    ],
)
def test_sizes_are_binary_and_labelled_so(value, text):
    assert human_bytes(value) == text


def test_a_moment_is_written_in_utc_whatever_its_zone():
    kolkata = timezone(timedelta(hours=5, minutes=30))
    moment = datetime(2026, 12, 3, 2, 15, tzinfo=kolkata)
    assert human_datetime(moment) == "2 Dec 2026, 20:45 UTC"
    assert human_datetime(None) == ""


def test_a_day_is_written_without_a_leading_zero():
    assert human_date(date(2026, 3, 7)) == "7 Mar 2026"
    assert human_date(datetime(2026, 3, 7, 23, 30, tzinfo=UTC)) == "7 Mar 2026"


def test_the_template_filters_wrap_moments_in_a_machine_readable_time():
    moment = datetime(2026, 12, 2, 20, 45, tzinfo=UTC)
    html = Template("{% load console %}{{ moment|when }} {{ moment|day }} {{ size|bytes }}").render(
        Context({"moment": moment, "size": 1536})
    )
    assert html == (
        '<time datetime="2026-12-02T20:45:00+00:00">2 Dec 2026, 20:45 UTC</time> '
        '<time datetime="2026-12-02">2 Dec 2026</time> 1.5 KiB'
    )
