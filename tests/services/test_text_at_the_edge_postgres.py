"""On PostgreSQL, which refuses NUL in text even in a WHERE clause (and infinity in jsonb),
what it cannot store is answered 422 (400 for the dashboard) at the edge instead of a 500
from the database (imgwire_site/api/text.py, imgwire_site/api/parsers.py)."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from environments.models import SignInFailure
from images.models import Image

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
UPLOAD = "/api/v1/images/standard_upload"


@pytest.fixture(autouse=True)
def production_errors(settings):
    settings.DEBUG = False


@pytest.mark.parametrize(
    ("raw", "loc"),
    [
        (b'{"file_name": "a.jpg", "custom_metadata": {"k": "v\\u0000"}}', ["custom_metadata", "k"]),
        (
            b'{"file_name": "a.jpg", "custom_metadata": {"k\\u0000": "v"}}',
            ["custom_metadata", "k\\u0000"],
        ),
        (b'{"file_name": "a\\u0000.jpg"}', ["file_name"]),
        (b'{"file_name": "a.jpg", "idempotency_key": "\\u0000"}', ["idempotency_key"]),
        (b'{"file_name": "a.jpg", "purpose": "\\ud800"}', ["purpose"]),
        # 1e999 reads as infinity, which jsonb refuses.
        (b'{"file_name": "a.jpg", "custom_metadata": {"k": 1e999}}', []),
    ],
)
def test_a_body_postgresql_could_not_store_answers_422_and_stores_nothing(owner, raw, loc):
    client = owner.browser
    client.raise_request_exception = False
    response = client.generic("POST", UPLOAD, raw, content_type="application/json")
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"] == ["body", *loc]
    assert not Image.objects.exists()


def test_a_nul_in_the_api_key_answers_422_instead_of_reaching_the_key_lookup(owner):
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {owner.server_key[:10]}\x00")
    response = client.get("/api/v1/images/")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["header", "Authorization"]


def test_a_nul_in_an_upload_token_answers_422(owner):
    client = owner.browser
    client.raise_request_exception = False
    response = client.post(f"{UPLOAD}?upload_token=ut_%00", {"file_name": "a.jpg"}, format="json")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "upload_token"]


def test_a_nul_in_the_sign_in_username_answers_400_and_records_no_failure(db):
    client = Client(raise_request_exception=False)
    response = client.post("/accounts/login/", {"username": "a\x00b", "password": "x"})
    assert response.status_code == 400
    assert not SignInFailure.objects.exists()


@pytest.mark.parametrize(
    ("method", "path", "data", "status"),
    [
        # Each answered 500 from PostgreSQL before it was refused at the edge.
        ("post", "/oauth/token/", {"grant_type": "authorization_code", "client_id": "\x00"}, 400),
        ("post", "/oauth/revoke/", {"token": "\x00", "client_id": "\x00"}, 400),
        ("get", "/uploadcare/info/", {"pub_key": "ck_\x00", "file_id": "x"}, 400),
        ("get", "/uploadcare/group/info/", {"pub_key": "ck_x\x00", "group_id": "\x00"}, 400),
    ],
)
def test_a_nul_the_authorization_server_or_uploadcare_would_look_up_answers_400(
    db, method, path, data, status
):
    response = getattr(Client(raise_request_exception=False), method)(path, data)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"


def test_registration_metadata_with_a_nul_answers_400_and_registers_nothing(db):
    from oauth2_provider.models import get_application_model

    response = Client(raise_request_exception=False).post(
        "/oauth/register/",
        '{"client_name": "a\\u0000", "redirect_uris": ["http://127.0.0.1:9/cb"]}',
        content_type="application/json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_client_metadata"
    assert not get_application_model().objects.exists()
