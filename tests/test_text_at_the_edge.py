"""Text a database cannot store is refused once, at the edge, naming where it was.

A lone UTF-16 surrogate (``\\ud800`` escaped in JSON) is not a character: SQLite stored it
and every later page rendering the row failed to encode it. PostgreSQL refuses NUL in
text. Both are refused before any view runs: JSON bodies by the parser, query strings,
headers and the dashboard's form bodies by RequestTextMiddleware.
"""

import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from environments.models import SignInFailure
from images.models import Image
from imgwire_site.api.errors import RequestValidationError
from imgwire_site.api.parsers import MAX_JSON_DEPTH, loads_strictly

pytestmark = pytest.mark.django_db
UPLOAD = "/api/v1/images/standard_upload"


@pytest.fixture(autouse=True)
def production_errors(settings):
    settings.DEBUG = False


def post_json(client, path: str, raw: bytes, content_type: str = "application/json"):
    client.raise_request_exception = False
    return client.generic("POST", path, raw, content_type=content_type)


def assert_refused_at(response, loc: list, type_: str = "string_unicode"):
    assert response.status_code == 422, response.content
    problem = response.json()["detail"][0]
    assert problem["loc"] == loc
    assert problem["type"] == type_
    # The answer itself must be encodable text (it echoes where the problem was).
    response.content.decode("utf-8")


def test_it_refuses_a_lone_surrogate_in_a_metadata_key_from_a_client_key(owner):
    raw = b'{"file_name": "a.jpg", "custom_metadata": {"\\ud800": "x"}}'
    response = post_json(owner.browser, UPLOAD, raw)
    assert_refused_at(response, ["body", "custom_metadata", "\\ud800"])
    assert "key" in response.json()["detail"][0]["msg"]
    assert not Image.objects.exists()


def test_it_refuses_a_lone_surrogate_in_a_metadata_value(owner):
    raw = b'{"file_name": "a.jpg", "custom_metadata": {"k": "ok\\udfffok"}}'
    response = post_json(owner.server, UPLOAD, raw)
    assert_refused_at(response, ["body", "custom_metadata", "k"])
    assert not Image.objects.exists()


def test_it_refuses_a_nul_in_metadata_and_in_a_top_level_field(owner):
    raw = b'{"file_name": "a\\u0000.jpg", "custom_metadata": {"k\\u0000": "v"}}'
    response = post_json(owner.server, UPLOAD, raw)
    assert response.status_code == 422
    locs = [problem["loc"] for problem in response.json()["detail"]]
    assert locs == [["body", "file_name"], ["body", "custom_metadata", "k\\u0000"]]
    assert not Image.objects.exists()


def test_it_refuses_unstorable_text_in_fields_the_serializer_would_ignore(owner):
    response = post_json(owner.server, UPLOAD, b'{"file_name": "a.jpg", "extra": ["\\ud83d"]}')
    assert_refused_at(response, ["body", "extra", 0])
    assert not Image.objects.exists()


def test_it_accepts_an_escaped_surrogate_pair_as_the_character_it_encodes(owner):
    raw = b'{"file_name": "a.jpg", "custom_metadata": {"face": "\\ud83d\\ude00"}}'
    response = post_json(owner.server, UPLOAD, raw)
    assert response.status_code == 200, response.content
    assert Image.objects.get().custom_metadata == {"face": "\U0001f600"}
    # The record, and the list holding it, render.
    assert owner.server.get("/api/v1/images/").status_code == 200


def test_it_refuses_invalid_utf8_in_the_body(owner):
    response = post_json(owner.server, UPLOAD, b'{"file_name": "\xed\xa0\x80.jpg"}')
    assert_refused_at(response, ["body"])


def test_it_refuses_a_body_declared_in_another_charset(owner):
    raw = json.dumps({"file_name": "a.jpg"}).encode("utf-16")
    response = post_json(owner.server, UPLOAD, raw, "application/json; charset=utf-16")
    assert_refused_at(response, ["header", "Content-Type"], "unsupported_media_type")
    assert not Image.objects.exists()


def test_it_accepts_a_body_declared_as_utf8(owner):
    raw = json.dumps({"file_name": "é.jpg"}, ensure_ascii=False).encode()
    response = post_json(owner.server, UPLOAD, raw, "application/json; charset=UTF-8")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_it_refuses_numbers_json_does_not_have(owner, constant):
    raw = b'{"file_name": "a.jpg", "content_length": ' + constant + b"}"
    assert_refused_at(post_json(owner.server, UPLOAD, raw), ["body"], "json_invalid")


@pytest.mark.parametrize("number", [b"1e999", b"-1e400", b"1" + b"0" * 400 + b".5"])
def test_it_refuses_a_number_too_large_for_a_float_instead_of_storing_infinity(owner, number):
    raw = b'{"file_name": "a.jpg", "custom_metadata": {"k": ' + number + b"}}"
    assert_refused_at(post_json(owner.server, UPLOAD, raw), ["body"], "finite_number")
    assert not Image.objects.exists()


def test_it_refuses_deep_nesting_before_anything_recurses_over_it(owner):
    for depth in (MAX_JSON_DEPTH + 1, 1000, 100_000):
        raw = b'{"file_name": "a.jpg", "custom_metadata": ' + b"[" * depth + b"]" * depth + b"}"
        response = post_json(owner.server, UPLOAD, raw)
        assert_refused_at(response, ["body"], "json_invalid")
        assert "levels deep" in response.json()["detail"][0]["msg"]


def test_the_parser_allows_exactly_the_documented_depth():
    assert loads_strictly(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)
    with pytest.raises(RequestValidationError):
        loads_strictly(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1))


def test_it_refuses_a_nul_in_a_query_value(owner):
    response = owner.server.post(
        f"{UPLOAD}?upload_token=ut_%00", {"file_name": "a.jpg"}, format="json"
    )
    assert_refused_at(response, ["query", "upload_token"])
    assert not Image.objects.exists()


def test_it_refuses_a_query_value_that_is_not_utf8_instead_of_guessing(owner):
    response = owner.server.get("/api/v1/metrics/stats?tz=Europe%2FParis%ff")
    assert_refused_at(response, ["query", "tz"])


def test_it_refuses_a_nul_in_a_header_before_looking_the_key_up(owner):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer sk_\x00")
    response = client.get("/api/v1/images/")
    assert_refused_at(response, ["header", "Authorization"])


def test_the_dashboard_sign_in_refuses_a_nul_username_and_records_nothing(db):
    client = Client(raise_request_exception=False)
    response = client.post("/accounts/login/", {"username": "a\x00@example.com", "password": "x"})
    assert response.status_code == 400
    assert not SignInFailure.objects.exists()


def test_the_s3_events_hook_refuses_deep_nesting_in_its_json_shape(settings):
    settings.IMGWIRE_S3_EVENTS_TOKEN = "s3-events-token"
    client = Client(raise_request_exception=False)
    response = client.post(
        "/hooks/s3-events",
        b'{"Records": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        content_type="application/json",
        HTTP_AUTHORIZATION="s3-events-token",
    )
    assert response.status_code == 400
    assert response.json()["error_type"] == "BadRequestError"
    assert "levels deep" in response.json()["detail"]


def test_paths_with_their_own_edge_get_the_request_untouched(db):
    # /uploadcare/ and the like answer in their vendor's shape and read their own bodies.
    response = Client(raise_request_exception=False).get("/elsewhere/?q=%00")
    assert response.status_code == 404


def test_too_many_query_parameters_answer_400_in_the_json_shape(owner, settings):
    query = "&".join(f"p{index}=1" for index in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1))
    client = owner.server
    client.raise_request_exception = False
    response = client.get(f"/api/v1/images/?{query}")
    assert response.status_code == 400
    assert response.json()["error_type"] == "BadRequestError"
