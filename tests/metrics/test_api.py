"""The metrics endpoints: validation, authorisation, tenancy, query count and contract."""

from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tests.metrics.data import at, datasets, ready_image, stats, usage
from tests.openapi import (
    assert_matches,
    assert_parameters_match,
    assert_schemas_match,
    reference,
)

pytestmark = pytest.mark.django_db

ENDPOINTS = ["/api/v1/metrics/datasets", "/api/v1/metrics/stats"]


def problems(response) -> dict:
    assert response.status_code == 422, response.content
    return {tuple(entry["loc"]): entry for entry in response.json()["detail"]}


@pytest.mark.parametrize(
    ("query", "parameter", "error_type"),
    [
        ({"tz": "Mars/Olympus_Mons"}, "tz", "value_error"),
        ({"tz": "../../etc/passwd"}, "tz", "value_error"),
        ({"tz": "posixrules"}, "tz", "value_error"),
        ({"tz": "localtime"}, "tz", "value_error"),
        ({"interval": "hourly"}, "interval", "enum"),
        ({"interval": "YEARLY"}, "interval", "enum"),
        ({"date_start": "yesterday"}, "date_start", "datetime_parsing"),
        ({"date_start": "2026-13-01T00:00:00Z"}, "date_start", "datetime_parsing"),
        ({"date_end": "0001-01-01T00:00:00Z"}, "date_end", "value_error"),
        ({"date_end": "9999-12-31T23:59:59"}, "date_end", "value_error"),
        (
            {"date_start": "2026-01-02T00:00:00Z", "date_end": "2026-01-01T00:00:00Z"},
            "date_end",
            "value_error",
        ),
        (
            {"date_start": "2026-01-01T00:00:00Z", "date_end": "2026-01-01T00:00:00Z"},
            "date_end",
            "value_error",
        ),
        ({"date_start": "2030-01-01T00:00:00Z"}, "date_start", "value_error"),
        ({"date_start": "2025-11-01", "date_end": "2026-02-02"}, "date_start", "value_error"),
        (
            {"interval": "DAILY", "date_start": "2024-01-01", "date_end": "2026-01-02"},
            "date_start",
            "value_error",
        ),
        (
            {"interval": "WEEKLY", "date_start": "2020-01-01", "date_end": "2026-01-01"},
            "date_start",
            "value_error",
        ),
        (
            {"interval": "MONTHLY", "date_start": "2020-01-01", "date_end": "2025-01-02"},
            "date_start",
            "value_error",
        ),
    ],
)
@pytest.mark.parametrize("path", ENDPOINTS)
def test_it_refuses_a_bad_query_naming_the_parameter(owner, path, query, parameter, error_type):
    with mock.patch("django.utils.timezone.now", return_value=at("2026-03-08T15:20:00Z")):
        found = problems(owner.server.get(path, query))
    assert set(found) == {("query", parameter)}
    assert found["query", parameter]["type"] == error_type
    assert found["query", parameter]["msg"]


def test_it_reports_every_bad_parameter_at_once(owner):
    found = problems(
        owner.server.get(ENDPOINTS[0], {"tz": "Nowhere", "interval": "DAILYISH", "date_end": "x"})
    )
    assert set(found) == {("query", "tz"), ("query", "interval"), ("query", "date_end")}


def test_the_too_long_message_names_the_limit(owner):
    response = owner.server.get(
        ENDPOINTS[0], {"date_start": "2026-01-01T00:00:00Z", "date_end": "2026-05-01T00:00:00Z"}
    )
    message = problems(response)["query", "date_start"]["msg"]
    assert "2208" in message and "92 days" in message and "interval" in message


@pytest.mark.parametrize(
    ("interval", "date_start", "date_end", "buckets"),
    [
        ("HOURLY", "2026-01-01T00:00:00Z", "2026-04-03T00:00:00Z", 2208),
        ("DAILY", "2024-01-01", "2026-01-01", 731),
        ("WEEKLY", "2021-01-04", "2025-12-29", 260),
        ("MONTHLY", "2021-01-01", "2026-01-01", 60),
    ],
)
def test_the_longest_range_of_each_interval_is_served(
    owner, interval, date_start, date_end, buckets
):
    body = datasets(owner, interval=interval, date_start=date_start, date_end=date_end)
    assert len(body["requests"]) == buckets


def test_one_bucket_more_than_the_limit_is_refused(owner):
    response = owner.server.get(
        ENDPOINTS[0], {"date_start": "2026-01-01T00:00:00Z", "date_end": "2026-04-03T01:00:00Z"}
    )
    assert ("query", "date_start") in problems(response)


def test_blank_parameters_mean_their_defaults(owner):
    with mock.patch("django.utils.timezone.now", return_value=at("2026-03-08T15:20:00Z")):
        body = datasets(owner, interval="", tz="", date_start="", date_end="")
    assert len(body["requests"]) == 24
    assert body["requests"][-1]["timestamp"] == "2026-03-08T15:00:00Z"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_it_refuses_a_request_without_a_key(path):
    response = APIClient().get(path)
    assert response.status_code == 401
    assert response.json()["error_type"] == "InvalidTokenError"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_it_refuses_a_client_key(owner, path):
    response = owner.browser.get(path)
    assert response.status_code == 403
    assert response.json()["error_type"] == "OperationNotAllowedError"


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_member_reads_metrics_of_their_environment(owner, path):
    client = APIClient()
    client.force_login(owner.user)
    response = client.get(path, HTTP_X_ENVIRONMENT_ID=str(owner.environment.id))
    assert response.status_code == 200


@pytest.mark.parametrize("path", ENDPOINTS)
def test_an_outsider_session_cannot_read_another_environment(owner, outsider, path):
    client = APIClient()
    client.force_login(outsider.user)
    response = client.get(path, HTTP_X_ENVIRONMENT_ID=str(owner.environment.id))
    assert response.status_code == 403


def test_other_environments_usage_never_leaks(owner, outsider):
    usage(owner.environment, "2026-01-10T01:00:00Z", requests=5, cache_hits=5, transfer_bytes=9)
    ready_image(owner.environment, "2026-01-09T01:00:00Z", 100)
    ready_image(owner.environment, "2026-01-10T01:00:00Z", 100)
    query = {"interval": "DAILY", "date_start": "2026-01-10", "date_end": "2026-01-11"}

    theirs = datasets(outsider, **query)
    assert all(
        value == 0
        for points in theirs.values()
        for point in points
        for key, value in point.items()
        if key not in ("timestamp", "label")
    )
    assert all(stat["value"] == 0 for stat in stats(outsider, **query).values())
    assert datasets(owner, **query)["requests"][0]["requests"] == 5


def many_sources(environment, hours: int) -> None:
    from datetime import timedelta

    from metrics.models import DeliveryUsageHour

    start = at("2026-01-01T00:00:00Z")
    DeliveryUsageHour.objects.bulk_create(
        DeliveryUsageHour(environment=environment, hour=start + timedelta(hours=n), requests=1)
        for n in range(hours)
    )
    for n in range(0, hours, 24):
        ready_image(environment, (start + timedelta(hours=n, minutes=5)).isoformat(), 10)


@pytest.mark.parametrize(
    ("path", "date_end", "hours"),
    [
        (ENDPOINTS[0], "2026-01-01T01:00:00Z", 1),
        (ENDPOINTS[0], "2026-02-01T00:00:00Z", 744),
        (ENDPOINTS[1], "2026-01-01T01:00:00Z", 1),
        (ENDPOINTS[1], "2026-02-01T00:00:00Z", 744),
    ],
)
def test_the_number_of_queries_does_not_grow_with_the_range(owner, path, date_end, hours):
    many_sources(owner.environment, hours)
    owner.server.get(path)  # the key's first use records last_used_at
    with CaptureQueriesContext(connection) as queries:
        response = owner.server.get(
            path, {"date_start": "2026-01-01T00:00:00Z", "date_end": date_end}
        )
    assert response.status_code == 200
    # key lookup; usage rows; uploads by hour; deletions by hour; storage before the range
    assert len(queries) == 5, [q["sql"] for q in queries]


@pytest.mark.parametrize("interval", ["HOURLY", "DAILY", "WEEKLY", "MONTHLY"])
def test_responses_match_the_reference_schemas(owner, interval):
    usage(owner.environment, "2026-01-10T01:00:00Z", requests=3, cache_hits=1)
    ready_image(owner.environment, "2026-01-10T01:00:00Z", 100)
    query = {
        "interval": interval,
        "tz": "America/New_York",
        "date_start": "2026-01-10T00:00:00Z",
        "date_end": "2026-01-11T00:00:00Z",
    }
    assert_matches(datasets(owner, **query), "MetricsDatasetsSchema")
    assert_matches(stats(owner, **query), "MetricsStatsSchema")


def test_null_pct_change_matches_the_reference_schema(owner):
    body = stats(owner, date_start="2026-01-10T00:00:00Z", date_end="2026-01-10T01:00:00Z")
    assert body["uploads"]["pct_change"] is None
    assert_matches(body, "MetricsStatsSchema")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_our_openapi_document_carries_the_reference_contract(ours, path):
    theirs_op = reference()["paths"][path]["get"]
    mine_op = ours["paths"][path]["get"]
    assert mine_op["operationId"] == theirs_op["operationId"]
    assert_parameters_match(ours, path, "get")
    mine_params = {p["name"]: p for p in mine_op["parameters"]}
    assert mine_params["interval"]["schema"]["enum"] == ["HOURLY", "DAILY", "WEEKLY", "MONTHLY"]
    assert_schemas_match(ours, path, "get", nested=True)
