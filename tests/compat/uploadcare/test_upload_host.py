"""The Upload API at the root of the dedicated upload host (IMGWIRE_UPLOADCARE_HOST)."""

import pytest
from django.test import Client
from pyuploadcare import Uploadcare

from images.models import Image
from keys.signing import signing_secret_reveal
from tests.compat.uploadcare.test_hostile_requests import A_FILE, post_base
from tests.imagegen import jpeg

pytestmark = pytest.mark.django_db(transaction=True)

UPLOAD_HOST = "upload.imgwire.test"


@pytest.fixture
def upload_host(settings):
    settings.IMGWIRE_UPLOADCARE_HOST = UPLOAD_HOST
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, UPLOAD_HOST]


def test_pyuploadcare_uploads_to_the_root_of_the_upload_host(
    owner, live_server, settings, tmp_path
):
    # The live server's loopback address plays the upload host; "localhost" stays the API's.
    settings.IMGWIRE_UPLOADCARE_HOST = "127.0.0.1"
    port = live_server.url.rsplit(":", 1)[1]
    client = Uploadcare(
        public_key=owner.client_key,
        secret_key=signing_secret_reveal(environment=owner.environment),
        upload_base=f"http://127.0.0.1:{port}/",
    )
    path = tmp_path / "photo.jpg"
    path.write_bytes(jpeg(32, 32))
    with path.open("rb") as handle:
        uploaded = client.upload(handle)
    assert Image.objects.get(id=uploaded.uuid).environment == owner.environment


def test_the_upload_host_serves_only_the_upload_api(owner, upload_host):
    answer = post_base(
        {"UPLOADCARE_PUB_KEY": owner.client_key}, A_FILE, path="/base/", HTTP_HOST=UPLOAD_HOST
    )
    assert answer.status_code == 200
    on_host = Client(HTTP_HOST=UPLOAD_HOST)
    assert on_host.get("/api/v1/images/").status_code == 404
    assert on_host.get("/dashboard/").status_code == 404
    assert on_host.post("/uploadcare/base/").status_code == 404  # its API lives at /


def test_other_hosts_keep_the_site_and_do_not_answer_at_the_root(owner, upload_host):
    assert Client().post("/base/").status_code == 404
    assert post_base({"UPLOADCARE_PUB_KEY": owner.client_key}, A_FILE).status_code == 200
