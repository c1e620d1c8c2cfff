"""The signed upload URL: one PUT of the declared type and size, or nothing is stored."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage

from images.models import Image
from tests.uploads import create_upload, put_bytes

pytestmark = pytest.mark.django_db(transaction=True)

PAYLOAD = b"\xff\xd8\xff" + b"x" * 2000


def stored_files() -> list[Path]:
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture(autouse=True)
def clean_storage():
    for path in stored_files():
        path.unlink()


@pytest.fixture
def upload(owner):
    return create_upload(owner.server, file_name="a.jpg", content_length=len(PAYLOAD)).json()


def test_a_put_of_the_declared_bytes_is_stored_under_the_incoming_key(upload, stub_worker):
    response = put_bytes(upload["upload_url"], PAYLOAD, "image/jpeg")
    assert response.status_code == 200
    image = Image.objects.get(id=upload["image"]["id"])
    assert image.bytes_received_at is not None
    assert image.size_bytes == len(PAYLOAD)
    with default_storage.open(image.incoming_key) as stored:
        assert stored.read() == PAYLOAD


def test_a_put_longer_than_declared_is_refused_and_nothing_is_stored(upload):
    response = put_bytes(upload["upload_url"], PAYLOAD + b"extra", "image/jpeg")
    assert response.status_code == 413
    assert "does not match the content_length declared" in response.json()["detail"]
    assert stored_files() == []
    assert Image.objects.get(id=upload["image"]["id"]).can_upload


def test_a_put_shorter_than_declared_is_refused(upload):
    response = put_bytes(upload["upload_url"], PAYLOAD[:-1], "image/jpeg")
    assert response.status_code == 400
    assert stored_files() == []


def test_a_put_with_another_content_type_is_refused(upload):
    response = put_bytes(upload["upload_url"], PAYLOAD, "image/png")
    assert response.status_code == 415
    assert response.json()["detail"].startswith("Content-Type must be image/jpeg")
    assert stored_files() == []


def test_a_tampered_signature_is_refused(upload):
    url = upload["upload_url"]
    response = put_bytes(
        url[:-3] + ("abc" if not url.endswith("abc") else "xyz"), PAYLOAD, "image/jpeg"
    )
    assert response.status_code == 403
    assert response.json()["error_type"] == "InvalidSignatureError"
    assert stored_files() == []


def test_a_signature_for_another_image_is_refused(owner, upload):
    other = create_upload(owner.server, file_name="b.jpg", content_length=len(PAYLOAD)).json()
    signature = upload["upload_url"].split("signature=")[1]
    url = other["upload_url"].split("signature=")[0] + "signature=" + signature
    assert put_bytes(url, PAYLOAD, "image/jpeg").status_code == 403


def test_an_expired_upload_url_is_refused(upload, settings):
    from unittest import mock

    from django.core import signing

    later = signing.time.time() + settings.IMGWIRE_UPLOAD_URL_TTL_SECONDS + 1
    with mock.patch("django.core.signing.time.time", return_value=later):
        response = put_bytes(upload["upload_url"], PAYLOAD, "image/jpeg")
    assert response.status_code == 403
    assert response.json()["error_type"] == "ExpiredSignatureError"
    assert stored_files() == []


def test_an_upload_url_accepts_one_put(upload, stub_worker):
    assert put_bytes(upload["upload_url"], PAYLOAD, "image/jpeg").status_code == 200
    second = put_bytes(upload["upload_url"], PAYLOAD, "image/jpeg")
    assert second.status_code == 409


def test_an_undeclared_length_is_bounded_by_the_keys_maximum(owner, settings):
    from keys.models import ApiKey

    ApiKey.objects.filter(key_type="CLIENT").update(maximum_upload_bytes=5 * 1024)
    created = create_upload(owner.browser, file_name="a.jpg").json()
    response = put_bytes(created["upload_url"], b"x" * (5 * 1024 + 1), "image/jpeg")
    assert response.status_code == 413
    assert stored_files() == []


def test_a_wrong_declared_hash_is_refused_and_the_upload_can_be_retried(owner, stub_worker):
    created = create_upload(
        owner.server, file_name="a.jpg", content_length=len(PAYLOAD), hash_sha256="0" * 64
    ).json()
    response = put_bytes(created["upload_url"], PAYLOAD, "image/jpeg")
    assert response.status_code == 422
    assert response.json()["error_type"] == "HashMismatchError"
    assert stored_files() == []
    assert Image.objects.get(id=created["image"]["id"]).can_upload


def test_a_put_for_a_deleted_image_is_refused(owner, upload, stub_worker):
    owner.server.delete(f"/api/v1/images/{upload['image']['id']}")
    response = put_bytes(upload["upload_url"], PAYLOAD, "image/jpeg")
    assert response.status_code == 409
    assert stored_files() == []


def test_a_put_without_content_length_is_refused(upload):
    response = put_bytes(upload["upload_url"], PAYLOAD, "image/jpeg", CONTENT_LENGTH="")
    assert response.status_code == 411


def test_other_methods_are_not_allowed_on_the_upload_url(upload):
    from rest_framework.test import APIClient

    path = upload["upload_url"].split("127.0.0.1:8000")[-1]
    assert APIClient().post(path, PAYLOAD, content_type="image/jpeg").status_code == 405


def test_the_upload_url_lives_fifteen_minutes(settings):
    assert timedelta(seconds=settings.IMGWIRE_UPLOAD_URL_TTL_SECONDS) == timedelta(minutes=15)
