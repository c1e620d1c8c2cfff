"""/api/v1/webhooks refuses bad input with a clear 4xx in the API's error shape, never a 500:
wrong types, unknown events, non-https and private URLs, NUL bytes, huge strings, bad ids."""

import uuid

import pytest

from environments.webhooks.models import Subscription
from images.remote.addresses import parse_allowed_networks
from tests.webhooks.conftest import HOOK_URL
from tests.webhooks.test_api import LIST, OPERATIONS, READS, WRITES, detail

pytestmark = pytest.mark.django_db


# --- bad input: always a clear 4xx in the API's error shape, never a 500 ----------------


def assert_refused(response, status=422, loc=None):
    assert response.status_code == status, response.content
    body = response.json()
    if status == 422:
        assert isinstance(body["detail"], list) and body["detail"]
        for entry in body["detail"]:
            assert set(entry) == {"loc", "msg", "type"} and entry["msg"]
        if loc is not None:
            assert body["detail"][0]["loc"] == loc, body
    else:
        assert set(body) == {"detail", "error_type"}
    assert len(response.content) < 5000  # nothing echoed whole


HUGE = "x" * 200_000
BAD_CREATES = {
    "no url": ({"events": []}, ["body", "url"]),
    "url not a string": ({"url": 5}, ["body", "url"]),
    "url a list": ({"url": [HOOK_URL]}, ["body", "url"]),
    "url null": ({"url": None}, ["body", "url"]),
    "url empty": ({"url": ""}, ["body", "url"]),
    "url without a scheme": ({"url": "hooks.example.com/x"}, ["body", "url"]),
    "url of another scheme": ({"url": "ftp://hooks.example.com/x"}, ["body", "url"]),
    "url with credentials": ({"url": "https://u:p@hooks.example.com/"}, ["body", "url"]),
    "url with a space": ({"url": "https://hooks.example.com/a b"}, ["body", "url"]),
    "url of a private address": ({"url": "https://10.0.0.1/x"}, ["body", "url"]),
    "url of loopback": ({"url": "https://127.0.0.1/x"}, ["body", "url"]),
    "url of IPv6 loopback": ({"url": "https://[::1]/x"}, ["body", "url"]),
    "url of the metadata address": ({"url": "https://169.254.169.254/"}, ["body", "url"]),
    "url of localhost": ({"url": "https://localhost:3000/hook"}, ["body", "url"]),
    "url of a name under localhost": ({"url": "https://app.LOCALHOST./x"}, ["body", "url"]),
    "url of the metadata name": ({"url": "https://metadata.google.internal/"}, ["body", "url"]),
    "url with a NUL": ({"url": "https://hooks.example.com/\x00"}, ["body", "url"]),
    "url huge": ({"url": "https://hooks.example.com/" + HUGE}, ["body", "url"]),
    "events not a list": ({"url": HOOK_URL, "events": "image.ready"}, ["body", "events"]),
    "events of numbers": ({"url": HOOK_URL, "events": [1]}, ["body", "events", 0]),
    "events of objects": ({"url": HOOK_URL, "events": [{}]}, ["body", "events", 0]),
    "an unknown event": ({"url": HOOK_URL, "events": ["image.exploded"]}, ["body", "events", 0]),
    "the test event": ({"url": HOOK_URL, "events": ["webhook.test"]}, ["body", "events", 0]),
    "a huge event name": ({"url": HOOK_URL, "events": [HUGE]}, ["body", "events", 0]),
    "an event with a NUL": ({"url": HOOK_URL, "events": ["image.ready\x00"]}, None),
    "too many events": ({"url": HOOK_URL, "events": ["image.ready"] * 11}, ["body", "events"]),
    "an unknown format": ({"url": HOOK_URL, "format": "cloudinary"}, ["body", "format"]),
    "a format not a string": ({"url": HOOK_URL, "format": ["standard"]}, ["body", "format"]),
    "a body that is a list": ([HOOK_URL], None),
    "a body that is a string": ("https://hooks.example.com", None),
}


@pytest.mark.parametrize("payload", BAD_CREATES.values(), ids=BAD_CREATES.keys())
def test_a_bad_create_answers_422_naming_the_field(owner, payload):
    body, loc = payload
    assert_refused(owner.server.post(LIST, body, format="json"), loc=loc)
    assert not Subscription.objects.exists()


def test_localhost_is_refused_at_creation_saying_what_it_means_and_what_to_do(owner):
    response = owner.server.post(LIST, {"url": "https://localhost:3000/hook"}, format="json")
    message = response.json()["detail"][0]["msg"]
    assert "localhost always means 127.0.0.1" in message
    assert "public tunnel" in message


def test_localhost_is_accepted_where_the_operator_allows_loopback(owner, settings):
    settings.IMGWIRE_WEBHOOK_ALLOWED_NETWORKS = parse_allowed_networks("127.0.0.0/8")
    response = owner.server.post(LIST, {"url": "https://localhost:3000/hook"}, format="json")
    assert response.status_code == 201, response.content


def test_a_plain_http_url_is_refused_unless_the_operator_allows_it(owner, settings):
    settings.IMGWIRE_WEBHOOK_ALLOW_HTTP = False
    response = owner.server.post(LIST, {"url": "http://hooks.example.com/x"}, format="json")
    assert_refused(response, loc=["body", "url"])
    assert "https" in response.json()["detail"][0]["msg"]


BAD_UPDATES = {
    "enabled not a boolean": ({"enabled": "yes"}, ["body", "enabled"]),
    "enabled a number": ({"enabled": 1}, ["body", "enabled"]),
    "enabled null": ({"enabled": None}, ["body", "enabled"]),
    "url of loopback": ({"url": "https://127.0.0.1/x"}, ["body", "url"]),
    "url null": ({"url": None}, ["body", "url"]),
    "events null": ({"events": None}, ["body", "events"]),
    "an unknown event": ({"events": ["file.exploded"]}, ["body", "events", 0]),
    "an unknown format": ({"format": "zapier"}, ["body", "format"]),
    "a body that is a list": ([], None),
}


@pytest.mark.parametrize("payload", BAD_UPDATES.values(), ids=BAD_UPDATES.keys())
def test_a_bad_update_answers_422_and_changes_nothing(owner, existing, payload):
    body, loc = payload
    assert_refused(owner.server.patch(detail(existing.pk), body, format="json"), loc=loc)
    existing.refresh_from_db()
    assert existing.url == HOOK_URL and existing.enabled and existing.events == []


@pytest.mark.parametrize(
    "raw",
    [b"{", b'{"url": "\\ud800"}', b'{"url": "https://h.example.com/\\u0000"}', b"\xff\xfe"],
    ids=["truncated JSON", "a lone surrogate", "an escaped NUL", "not UTF-8"],
)
def test_a_body_that_is_not_storable_json_answers_422(owner, raw):
    response = owner.server.generic("POST", LIST, raw, content_type="application/json")
    assert_refused(response)
    assert not Subscription.objects.exists()


def test_a_body_over_the_memory_limit_answers_413(owner, settings):
    raw = b'{"url": "' + b"a" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b'"}'
    response = owner.server.generic("POST", LIST, raw, content_type="application/json")
    assert_refused(response, status=413)


@pytest.mark.parametrize(
    "raw_id",
    ["abc", "0", "-1", "1.5", "9" * 40, "%00", "\uff11", "0" * 31 + "g"],
)
@pytest.mark.parametrize(("method", "path", "payload"), READS[1:] + WRITES[1:])
def test_an_id_that_is_not_a_uuid_answers_422(owner, delivery, raw_id, method, path, payload):
    url = path.format(id=raw_id, delivery=delivery.pk)
    response = getattr(owner.server, method)(url, payload, format="json")
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"] == ["path", "webhook_id"]


@pytest.mark.parametrize("raw_id", ["abc", "0", "9223372036854775808"])
def test_a_delivery_id_that_is_not_a_uuid_answers_422(owner, delivery, raw_id):
    url = detail(delivery.subscription_id, f"/deliveries/{raw_id}/send_again")
    response = owner.server.post(url)
    assert_refused(response, loc=["path", "delivery_id"])


def test_an_unknown_uuid_answers_404(owner, existing):
    assert owner.server.get(detail(uuid.uuid4())).status_code == 404


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "101"}, {"page": "x"}])
def test_bad_pagination_answers_422(owner, existing, query):
    assert_refused(owner.server.get(LIST, query))
    assert_refused(owner.server.get(detail(existing.pk, "/deliveries"), query))


# --- generated requests ------------------------------------------------------------------

FUZZ_CASES = 25


@pytest.fixture
def wsgi_app(settings):
    from django.core.wsgi import get_wsgi_application

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]  # schemathesis' Host
    return get_wsgi_application()


def test_no_generated_request_to_a_webhook_operation_gets_a_5xx_or_an_undocumented_answer(
    owner, delivery, wsgi_app
):
    """tests/test_schemathesis.py drives every operation with random ids; this reaches
    past the 404s, with the ids of a real subscription and delivery."""
    import schemathesis
    from hypothesis import given
    from hypothesis import settings as hypothesis_settings
    from hypothesis import strategies as st
    from schemathesis.core.failures import FailureGroup
    from schemathesis.generation.modes import GenerationMode

    from tests.test_schemathesis import CHECKS, RUN, connection_kept_open

    with connection_kept_open():
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi-server.json", wsgi_app)
        schema = schema.include(path_regex="^/api/v1/webhooks/")
        operations = sorted(
            (result.ok() for result in schema.get_all_operations()),
            key=lambda operation: operation.method.upper() == "DELETE",
        )
        assert len(operations) == len(OPERATIONS)
        ids = {"webhook_id": delivery.subscription_id, "delivery_id": delivery.pk}
        headers = {"Authorization": f"Bearer {owner.server_key}"}
        failures: list[str] = []
        answered: dict[int, int] = {}
        for operation in operations:
            names = {parameter.name for parameter in operation.path_parameters}
            strategies = [
                operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
                operation.as_strategy(
                    generation_mode=GenerationMode.POSITIVE,
                    path_parameters={name: ids[name] for name in names},
                ),
            ]

            @hypothesis_settings(RUN, max_examples=FUZZ_CASES)
            @given(st.one_of(strategies))
            def exercise(case):
                response = case.call(headers=headers)
                answered[response.status_code] = answered.get(response.status_code, 0) + 1
                try:
                    case.validate_response(response, checks=CHECKS, headers=headers)
                except FailureGroup as error:
                    failures.append(f"{case.operation.label}: {error}")

            exercise()
    assert not failures, "\n".join(failures[:5])
    assert answered.get(200, 0) + answered.get(201, 0) + answered.get(202, 0) >= 40, answered
