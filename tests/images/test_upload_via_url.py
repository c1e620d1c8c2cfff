"""POST /images/upload_via_url against a misbehaving local source server."""

from ipaddress import ip_network

import pytest

from images.models import Image
from tests import sourceserver
from tests.openapi import assert_matches

pytestmark = pytest.mark.django_db(transaction=True)
source_server = sourceserver.source_server
LOOPBACK = (ip_network("127.0.0.0/8"),)


@pytest.fixture(autouse=True)
def allow_the_local_source(settings):
    settings.IMGWIRE_URL_FETCH_ALLOWED_NETWORKS = LOOPBACK
    settings.IMGWIRE_URL_FETCH_TIMEOUT_SECONDS = 2
    settings.IMGWIRE_URL_FETCH_HEADER_TIMEOUT_SECONDS = 1


def ingest(tenant, **fields):
    return tenant.server.post("/api/v1/images/upload_via_url", fields, format="json")


def test_a_remote_image_is_fetched_then_processed_to_ready(owner, source_server, stub_worker):
    response = ingest(
        owner,
        url=source_server.url("/image.png"),
        purpose="import",
        custom_metadata={"from": "cms"},
    )
    assert response.status_code == 200, response.content
    image = response.json()
    assert_matches(image, "ImageSchema")
    assert image["status"] in ("PENDING", "PROCESSING")
    assert image["original_filename"] == "image.png"
    assert image["mime_type"] == "image/png"
    assert image["size_bytes"] == len(sourceserver.PNG)
    stub_worker()
    ready = owner.server.get(f"/api/v1/images/{image['id']}").json()
    assert ready["status"] == "READY"
    assert (ready["width"], ready["height"]) == (4, 3)
    assert ready["custom_metadata"] == {"from": "cms"}


def test_the_file_name_comes_from_content_disposition(owner, source_server, stub_worker):
    image = ingest(owner, url=source_server.url("/attachment")).json()
    assert image["original_filename"] != "attachment"
    assert "." in image["original_filename"]


def test_the_bytes_decide_the_type_over_the_content_type_header(owner, source_server, stub_worker):
    image = ingest(owner, url=source_server.url("/png-labelled-text")).json()
    assert image["mime_type"] == "image/png"
    stub_worker()
    assert owner.server.get(f"/api/v1/images/{image['id']}").json()["status"] == "READY"


@pytest.mark.parametrize(
    ("path", "error_type"),
    [
        ("/server-error", "SourceHTTPError"),
        ("/loop", "TooManyRedirectsError"),
        ("/to-private-ip", "BlockedAddressError"),
        ("/to-ftp", "UnsupportedSchemeError"),
        ("/page.html", "NotAnImageError"),
        ("/streamed-too-large", "TooLargeError"),
        ("/too-large-honest", "TooLargeError"),
        ("/stalled-body", "TooSlowError"),
        ("/stalled-headers", "TooSlowError"),
    ],
)
def test_each_failure_answers_422_with_its_error_type_and_leaves_nothing(
    owner, source_server, settings, path, error_type
):
    settings.IMGWIRE_URL_FETCH_MAX_BYTES = sourceserver.CAP
    response = ingest(owner, url=source_server.url(path))
    assert response.status_code == 422, response.content
    assert response.json()["error_type"] == error_type
    assert response.json()["detail"].endswith((".", ")"))
    assert Image.objects.count() == 0


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x.png",
        "http://2130706433/x.png",
        "http://0177.0.0.1/x.png",
        "http://127.1/x.png",
        "http://[::1]/x.png",
        "http://[::ffff:127.0.0.1]/x.png",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.1/x.png",
        "http://localhost/x.png",
    ],
)
def test_private_addresses_are_blocked_unless_an_operator_allows_them(owner, settings, url):
    settings.IMGWIRE_URL_FETCH_ALLOWED_NETWORKS = ()
    response = ingest(owner, url=url)
    assert response.status_code == 422
    assert response.json()["error_type"] == "BlockedAddressError"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/a.png",
        "file:///etc/passwd",
        "gopher://x/",
        "not a url",
        "http://user:pw@127.0.0.1/",
    ],
)
def test_only_http_and_https_urls_are_fetched(owner, url):
    response = ingest(owner, url=url)
    assert response.status_code == 422
    assert response.json()["error_type"] in ("UnsupportedSchemeError", "InvalidUrlError")


def test_the_same_idempotency_key_returns_the_same_image_without_fetching_again(
    owner, source_server, stub_worker
):
    url = source_server.url("/image.png")
    first = ingest(owner, url=url, idempotency_key="remote-1").json()
    fetched = len(source_server.requests)
    second = ingest(owner, url=url, idempotency_key="remote-1").json()
    assert first["id"] == second["id"]
    assert len(source_server.requests) == fetched
    conflict = ingest(owner, url=url + "?v=2", idempotency_key="remote-1")
    assert conflict.status_code == 409


def test_client_keys_cannot_ingest_urls(owner, source_server):
    response = owner.browser.post(
        "/api/v1/images/upload_via_url", {"url": source_server.url("/image.png")}, format="json"
    )
    assert response.status_code == 403
    assert (
        owner.client()
        .post("/api/v1/images/upload_via_url", {"url": "x"}, format="json")
        .status_code
        == 401
    )


@pytest.mark.parametrize("payload", [{}, {"url": 5}, {"url": ""}, {"url": "x", "mime_type": "a"}])
def test_malformed_bodies_answer_422(owner, payload):
    assert ingest(owner, **payload).status_code == 422
