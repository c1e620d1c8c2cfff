"""Bad input to the authorization server gets OAuth's error shape, never a 500: text a
database cannot store is refused at the edge (imgwire_site/api/middleware.py), and a
registration's metadata is checked as the Resource API checks its bodies
(keys/oauth/views.py). tests/services runs the lookups that PostgreSQL refuses."""

import base64
import json

import pytest
from django.test import Client
from oauth2_provider.models import get_application_model

from tests.agents.test_oauth_server import register

pytestmark = pytest.mark.django_db

DEEP = "[" * 5000 + "]" * 5000


def _client() -> Client:
    return Client(raise_request_exception=False)


def _refused(response, error: str, *words: str) -> None:
    assert response.status_code == 400, response.content
    answer = response.json()
    assert answer["error"] == error
    for word in words:
        assert word in answer["error_description"]


@pytest.mark.parametrize(
    ("path", "form", "named"),
    [
        ("/oauth/token/", {"grant_type": "authorization_code", "client_id": "\x00"}, "client_id"),
        ("/oauth/token/", {"grant_type": "refresh_token", "refresh_token": "a\x00"}, "refresh"),
        ("/oauth/revoke/", {"token": "\x00", "client_id": "x"}, "token"),
    ],
)
def test_a_nul_in_a_form_field_of_the_authorization_server_answers_invalid_request(
    path, form, named
):
    _refused(_client().post(path, form), "invalid_request", named, "NUL")


def test_a_nul_in_basic_client_credentials_answers_invalid_request():
    for credentials in ("\x00:secret", "client:%00"):  # decoded, then percent-decoded
        header = "Basic " + base64.b64encode(credentials.encode()).decode()
        response = _client().post(
            "/oauth/token/", {"grant_type": "authorization_code"}, HTTP_AUTHORIZATION=header
        )
        _refused(response, "invalid_request", "Authorization", "NUL")


def test_a_nul_in_the_authorize_query_answers_invalid_request():
    response = _client().get("/oauth/authorize/", {"client_id": "\x00", "response_type": "code"})
    _refused(response, "invalid_request", "client_id")


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (DEEP, ("nests", "32 levels")),
        ('{"client_name": "a\\ud800", "redirect_uris": ["http://127.0.0.1:9/cb"]}', ("surrogate",)),
        ('{"client_name": "a\\u0000", "redirect_uris": ["http://127.0.0.1:9/cb"]}', ("NUL",)),
        ('{"redirect_uris": ["http://127.0.0.1:9/cb\\u0000"]}', ("redirect_uris", "NUL")),
        ('{"client_name": {"x": 1}, "redirect_uris": ["http://127.0.0.1:9/cb"]}', ("string",)),
        ('{"client_name": "x", "redirect_uris": [], "n": 1e999}', ("too large",)),
    ],
)
def test_registration_metadata_that_could_not_be_stored_is_refused(raw, words):
    response = _client().post("/oauth/register/", raw, content_type="application/json")
    _refused(response, "invalid_client_metadata", *words)
    assert not get_application_model().objects.exists()


def test_a_registered_client_cannot_replace_its_metadata_with_unstorable_text():
    registered = register().json()
    management = registered["registration_client_uri"].split("testserver", 1)[1]
    response = _client().put(
        management,
        json.dumps({"client_name": "a\u0000", "redirect_uris": registered["redirect_uris"]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {registered['registration_access_token']}",
    )
    _refused(response, "invalid_client_metadata", "client_name", "NUL")
    assert get_application_model().objects.get().name == "Test assistant"
