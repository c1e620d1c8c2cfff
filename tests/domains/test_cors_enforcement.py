"""Browsers may call the Client-Key endpoints only from the environment's CORS origins."""

import uuid

import pytest

from domains.services import cors_origin_create, cors_origin_delete
from images.models import Image
from keys.services import upload_token_create
from tests.imagegen import jpeg
from tests.uploads import create_upload, put_bytes

pytestmark = pytest.mark.django_db

ALLOWED = "https://app.example.com"
REFUSED = [
    "https://evil-example.com",
    "https://example.com.evil.net",
    "https://example.com",
    "http://app.example.com",
    "https://app.example.com:8443",
    "null",
    "file://",
]
ACAO = "Access-Control-Allow-Origin"


@pytest.fixture
def restricted(owner):
    cors_origin_create(environment=owner.environment, pattern="https://*.example.com")
    return owner


@pytest.fixture
def image_id(owner):
    return create_upload(owner.server).json()["image"]["id"]


def upload_from(client, origin, **fields):
    fields.setdefault("file_name", "photo.jpg")
    return client.post("/api/v1/images/standard_upload", fields, format="json", HTTP_ORIGIN=origin)


def read_from(client, origin, image_id):
    return client.get(f"/api/v1/images/{image_id}", HTTP_ORIGIN=origin)


def preflight(client, path, method, origin="https://anywhere.example.net"):
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,content-type",
    )


def test_an_allowed_origin_uploads_and_gets_cors_headers(restricted):
    response = upload_from(restricted.browser, ALLOWED)
    assert response.status_code == 200, response.content
    assert response[ACAO] == ALLOWED
    assert "origin" in response["Vary"].lower()
    assert "X-Next-Page" in response["Access-Control-Expose-Headers"]


def test_an_allowed_origin_reads_an_image_with_cors_headers(restricted, image_id):
    response = read_from(restricted.browser, ALLOWED, image_id)
    assert response.status_code == 200
    assert response[ACAO] == ALLOWED


@pytest.mark.parametrize("origin", REFUSED)
def test_an_unlisted_origin_cannot_upload_and_gets_no_cors_headers(restricted, origin):
    response = upload_from(restricted.browser, origin)
    assert response.status_code == 403
    assert response.json()["error_type"] == "ResourceNotAuthorizedError"
    assert "CORS origins" in response.json()["detail"]
    assert ACAO not in response
    assert not Image.objects.exists()


@pytest.mark.parametrize("origin", REFUSED)
def test_an_unlisted_origin_cannot_read_an_image_and_gets_no_cors_headers(
    restricted, image_id, origin
):
    response = read_from(restricted.browser, origin, image_id)
    assert response.status_code == 403
    assert ACAO not in response


def test_an_unlisted_origin_learns_nothing_about_which_ids_exist(restricted, image_id):
    known = read_from(restricted.browser, "https://evil.net", image_id)
    unknown = read_from(restricted.browser, "https://evil.net", uuid.uuid4())
    assert known.status_code == unknown.status_code == 403
    assert known.json() == unknown.json()


def test_with_no_patterns_any_origin_may_call(owner, image_id):
    for origin in ("https://anything.test", "http://localhost:5173", "null"):
        upload = upload_from(owner.browser, origin)
        assert upload.status_code == 200
        assert upload[ACAO] == origin
        read = read_from(owner.browser, origin, image_id)
        assert read.status_code == 200
        assert read[ACAO] == origin


def test_another_environments_patterns_do_not_apply(owner, outsider):
    cors_origin_create(environment=outsider.environment, pattern="only.outsider.test")
    assert upload_from(owner.browser, "https://anything.test").status_code == 200
    assert upload_from(outsider.browser, "https://anything.test").status_code == 403


def test_a_deleted_pattern_stops_restricting_on_the_next_request(restricted):
    assert upload_from(restricted.browser, "https://elsewhere.test").status_code == 403
    for cors_origin in restricted.environment.cors_origins.all():
        cors_origin_delete(environment=restricted.environment, cors_origin_id=cors_origin.id)
    assert upload_from(restricted.browser, "https://elsewhere.test").status_code == 200


def test_a_client_key_request_without_an_origin_is_not_a_browser_call(restricted, image_id):
    response = restricted.browser.post(
        "/api/v1/images/standard_upload", {"file_name": "a.jpg"}, format="json"
    )
    assert response.status_code == 200
    assert ACAO not in response
    assert restricted.browser.get(f"/api/v1/images/{image_id}").status_code == 200


def test_server_keys_are_not_subject_to_origins_and_get_no_cors_headers(restricted, image_id):
    response = upload_from(restricted.server, "https://evil.net")
    assert response.status_code == 200
    assert ACAO not in response
    listed = restricted.server.get("/api/v1/images/", HTTP_ORIGIN=ALLOWED)
    assert listed.status_code == 200
    assert ACAO not in listed


def test_an_allowed_origin_can_read_the_reason_its_request_failed(restricted):
    response = upload_from(restricted.browser, ALLOWED, file_name="no-extension")
    assert response.status_code == 422
    assert response[ACAO] == ALLOWED


def test_an_allowed_origin_reading_another_environments_image_gets_a_readable_404(
    restricted, outsider
):
    theirs = create_upload(outsider.server).json()["image"]["id"]
    response = read_from(restricted.browser, ALLOWED, theirs)
    assert response.status_code == 404
    assert response[ACAO] == ALLOWED


def test_a_bad_key_from_an_allowed_origin_gets_401_without_cors_headers(restricted):
    response = upload_from(restricted.client("ck_" + "x" * 40), ALLOWED)
    assert response.status_code == 401
    assert ACAO not in response


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/v1/images/standard_upload", "POST"),
        ("/api/v1/images/{id}", "GET"),
        ("/ingest/{id}", "PUT"),
    ],
)
def test_preflights_of_browser_endpoints_are_answered_for_any_origin(
    restricted, image_id, path, method
):
    # A preflight carries no key, so it cannot know the environment; the real request is
    # checked instead (docs/cors.md).
    response = preflight(restricted.client(), path.format(id=image_id), method)
    assert response.status_code == 200
    assert response[ACAO] == "https://anywhere.example.net"
    assert method in response["Access-Control-Allow-Methods"]
    allowed_headers = response["Access-Control-Allow-Headers"]
    for header in ("authorization", "content-type", "x-environment-id"):
        assert header in allowed_headers
    assert int(response["Access-Control-Max-Age"]) > 0


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/v1/images/", "GET"),
        ("/api/v1/images/{id}", "DELETE"),
        ("/api/v1/images/standard_upload", "GET"),
        ("/api/v1/images/upload_via_url", "POST"),
        ("/api/v1/images/bulk_delete", "POST"),
        ("/api/v1/cors_origins/", "POST"),
        ("/api/v1/cors_origins/", "GET"),
        ("/admin/login/", "POST"),
        ("/health", "GET"),
    ],
)
def test_preflights_of_other_operations_get_no_cors_headers(owner, image_id, path, method):
    response = preflight(owner.client(), path.format(id=image_id), method)
    assert ACAO not in response
    assert "Access-Control-Allow-Methods" not in response


def test_other_paths_get_no_cors_headers_even_for_an_allowed_origin(restricted):
    response = restricted.server.get("/api/v1/cors_origins/", HTTP_ORIGIN=ALLOWED)
    assert response.status_code == 200
    assert ACAO not in response
    assert restricted.client().get("/health", HTTP_ORIGIN=ALLOWED).get(ACAO) is None


def test_the_upload_put_answers_the_browsers_origin(restricted):
    data = jpeg()
    created = upload_from(
        restricted.browser, ALLOWED, mime_type="image/jpeg", content_length=len(data)
    )
    assert created.status_code == 200, created.content
    put = put_bytes(created.json()["upload_url"], data, "image/jpeg", HTTP_ORIGIN=ALLOWED)
    assert put.status_code == 200, put.content
    assert put[ACAO] == ALLOWED


def test_a_refused_upload_put_is_still_readable_by_the_browser(restricted):
    created = upload_from(restricted.browser, ALLOWED, mime_type="image/jpeg")
    url = created.json()["upload_url"].replace("signature=", "signature=x")
    put = put_bytes(url, jpeg(), "image/jpeg", HTTP_ORIGIN=ALLOWED)
    assert put.status_code >= 400
    assert put[ACAO] == ALLOWED


def test_a_refused_origin_does_not_spend_an_upload_token(restricted):
    token, secret = upload_token_create(environment=restricted.environment)
    response = restricted.browser.post(
        f"/api/v1/images/standard_upload?upload_token={secret}",
        {"file_name": "a.jpg"},
        format="json",
        HTTP_ORIGIN="https://evil.net",
    )
    assert response.status_code == 403
    token.refresh_from_db()
    assert token.used_at is None


def test_imgwires_own_origin_is_not_cross_origin_whatever_the_list_says(restricted):
    # The dashboard's uploader runs on Imgwire's own origin (the test client's host).
    response = upload_from(restricted.browser, "http://testserver")
    assert response.status_code == 200, response.content
    assert ACAO not in response  # same-origin: no CORS headers needed
    assert upload_from(restricted.browser, "http://testserver:8080").status_code == 403
    assert upload_from(restricted.browser, "https://testserver").status_code == 403
