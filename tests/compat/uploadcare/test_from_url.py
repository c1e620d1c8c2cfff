"""from_url/ and from_url/status/ through pyuploadcare, fetching from a local source server.

pyuploadcare builds these URLs from the host root, so the live server's loopback address
plays the dedicated upload host (IMGWIRE_UPLOADCARE_HOST)."""

from ipaddress import ip_network

import pytest
import requests
from pyuploadcare import Uploadcare
from pyuploadcare.exceptions import InvalidRequestError, UploadError

from images.compat.uploadcare.from_url import uploadcare_fetch_run
from images.compat.uploadcare.models import FetchStatus, UploadcareFetch
from images.models import Image, ImageStatus
from keys.signing import signing_secret_reveal
from tests import sourceserver

pytestmark = pytest.mark.django_db(transaction=True)
source_server = sourceserver.source_server


@pytest.fixture
def host_root(owner, live_server, settings):
    settings.IMGWIRE_UPLOADCARE_HOST = "127.0.0.1"
    settings.IMGWIRE_PUBLIC_URL = live_server.url
    settings.IMGWIRE_CDN_URL = f"{live_server.url}/cdn"
    settings.IMGWIRE_URL_FETCH_ALLOWED_NETWORKS = (ip_network("127.0.0.0/8"),)
    settings.IMGWIRE_URL_FETCH_TIMEOUT_SECONDS = 10  # bounds for a loaded machine, not timings
    settings.IMGWIRE_URL_FETCH_HEADER_TIMEOUT_SECONDS = 5
    return f"http://127.0.0.1:{live_server.url.rsplit(':', 1)[1]}/"


@pytest.fixture
def client(owner, host_root):
    return Uploadcare(
        public_key=owner.client_key,
        secret_key=signing_secret_reveal(environment=owner.environment),
        upload_base=host_root,
    )


def test_a_file_fetched_from_a_url_becomes_a_ready_image(owner, client, source_server, stub_worker):
    uploaded = client.upload(source_server.url("/image.png"), metadata={"from": "cms"})
    image = Image.objects.get(id=uploaded.uuid)
    assert image.environment == owner.environment
    assert image.custom_metadata == {"from": "cms"}
    assert image.original_filename == "image.png"
    stub_worker()
    image.refresh_from_db()
    assert image.status == ImageStatus.READY


def test_the_status_moves_from_waiting_to_success_with_the_file_info(
    owner, host_root, source_server
):
    started = requests.post(
        f"{host_root}from_url/",
        params={
            "pub_key": owner.client_key,
            "source_url": source_server.url("/image.png"),
            "jsonerrors": "1",
        },
        timeout=10,
    ).json()  # upload-client's way: everything in the query string, an empty body
    assert started["type"] == "token"
    status = f"{host_root}from_url/status/"
    assert requests.get(status, params={"token": started["token"]}, timeout=10).json() == {
        "status": "waiting"
    }
    uploadcare_fetch_run(started["token"])
    done = requests.get(status, params={"token": started["token"]}, timeout=10).json()
    assert done["status"] == "success"
    assert done["mime_type"] == "image/png" and done["is_ready"] is False
    assert Image.objects.filter(id=done["uuid"]).exists()


def test_duplicates_are_answered_with_the_file_already_fetched(
    owner, client, source_server, stub_worker
):
    first = client.upload_from_url_sync(
        source_server.url("/image.png"), check_duplicates=True, save_duplicates=True
    )
    again = client.upload_from_url_sync(source_server.url("/image.png"), check_duplicates=True)
    assert again.uuid == first.uuid
    assert Image.objects.count() == 1
    other = client.upload_from_url_sync(source_server.url("/image.png"))
    assert other.uuid != first.uuid


def test_a_private_address_ends_in_an_error_status_with_uploadcares_code(
    owner, client, settings, source_server, stub_worker
):
    settings.IMGWIRE_URL_FETCH_ALLOWED_NETWORKS = ()
    with pytest.raises(UploadError):
        client.upload(source_server.url("/image.png"))
    fetch = UploadcareFetch.objects.get()
    assert fetch.status == FetchStatus.ERROR
    assert fetch.error_code == "URLHostPrivateIPForbiddenError"
    assert not Image.objects.exists()
    assert source_server.requests == []  # refused before connecting


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://example.com/a.png", "URLSchemeInvalidError"),
        ("//example.com/a.png", "URLSchemeRequiredError"),
        ("http:///a.png", "URLHostRequiredError"),
        ("", "SourceURLRequiredError"),
    ],
)
def test_a_url_that_cannot_be_fetched_is_refused_at_once(owner, host_root, url, code):
    answer = requests.post(
        f"{host_root}from_url/", data={"pub_key": owner.client_key, "source_url": url}, timeout=10
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["error_code"] == code
    assert not UploadcareFetch.objects.exists()


def test_pyuploadcare_reports_a_refused_url_as_an_invalid_request(client):
    with pytest.raises(InvalidRequestError, match="URLSchemeInvalidError"):
        client.upload("ftp://example.com/a.png")


def test_an_unknown_token_has_status_unknown_and_a_missing_one_is_named(host_root):
    status = f"{host_root}from_url/status/"
    assert requests.get(status, params={"token": "x"}, timeout=10).json() == {"status": "unknown"}
    missing = requests.get(status, timeout=10)
    assert missing.status_code == 400
    assert missing.json()["error"]["error_code"] == "TokenRequiredError"


def test_a_fetch_runs_once_however_often_its_message_arrives(owner, host_root, source_server):
    token = requests.post(
        f"{host_root}from_url/",
        data={"pub_key": owner.client_key, "source_url": source_server.url("/image.png")},
        timeout=10,
    ).json()["token"]
    uploadcare_fetch_run(token)
    uploadcare_fetch_run(token)
    assert Image.objects.count() == 1
    assert len(source_server.requests) == 1


def test_progress_is_reported_every_mebibyte_of_the_body():
    import io

    from images.services.remote import PROGRESS_STEP, _Reporting

    heard = []
    source = _Reporting(io.BytesIO(b"x" * (3 * PROGRESS_STEP + 5)), lambda *a: heard.append(a), 99)
    while source.read(64 * 1024):
        pass
    assert heard == [(PROGRESS_STEP, 99), (2 * PROGRESS_STEP, 99), (3 * PROGRESS_STEP, 99)]


def test_a_fetch_in_progress_reports_done_and_total_or_unknown(owner, host_root):
    from images.compat.uploadcare.from_url import fetch_status

    fetch = UploadcareFetch.objects.create(
        environment=owner.environment,
        key=owner.environment.api_keys.first(),
        source_url="https://images.example/a.png",
        status=FetchStatus.PROGRESS,
        done=2048,
        total=4096,
    )
    assert fetch_status(fetch) == {"status": "progress", "done": 2048, "total": 4096}
    fetch.total = 0
    assert fetch_status(fetch)["total"] == "unknown"


def test_a_success_poll_is_one_query(owner, host_root, source_server, django_assert_num_queries):
    from django.test import Client

    token = requests.post(
        f"{host_root}from_url/",
        data={"pub_key": owner.client_key, "source_url": source_server.url("/image.png")},
        timeout=10,
    ).json()["token"]
    uploadcare_fetch_run(token)
    with django_assert_num_queries(1):
        answer = Client().get("/uploadcare/from_url/status/", {"token": token})
    assert answer.json()["status"] == "success"
