"""hash_sha256 on standard_upload: 64 hexadecimal characters in either case, or a 422."""

import hashlib

import pytest

from images.models import Image
from tests.imagegen import jpeg
from tests.uploads import create_upload, put_bytes

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "declared",
    [
        "abc",
        "0" * 63,
        "0" * 65,
        "g" * 64,
        "0" * 64 + "\n",
        " " + "0" * 63,
        "sha256:" + "0" * 64,
        "a" * 255,
    ],
)
def test_it_refuses_a_hash_sha256_that_is_not_64_hex_characters(owner, declared):
    response = create_upload(owner.server, file_name="a.jpg", hash_sha256=declared)
    assert response.status_code == 422, response.content
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "hash_sha256"]
    assert error["type"] == "string_pattern_mismatch"
    assert "64 hexadecimal characters" in error["msg"]
    assert not Image.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_uppercase_hash_is_kept_lowercase_and_the_upload_succeeds(owner, stub_worker):
    data = jpeg()
    digest = hashlib.sha256(data).hexdigest()
    created = create_upload(
        owner.server, file_name="a.jpg", content_length=len(data), hash_sha256=digest.upper()
    )
    assert created.status_code == 200, created.content
    assert created.json()["image"]["hash_sha256"] == digest
    put = put_bytes(created.json()["upload_url"], data, "image/jpeg")
    assert put.status_code == 200, put.content
    stub_worker()
    assert Image.objects.get().status == "READY"


def test_the_same_hash_in_either_case_is_the_same_idempotent_request(owner):
    digest = "ab" * 32
    first = create_upload(owner.server, idempotency_key="k", hash_sha256=digest)
    again = create_upload(owner.server, idempotency_key="k", hash_sha256=digest.upper())
    assert again.status_code == 200, again.content
    assert again.json()["image"]["id"] == first.json()["image"]["id"]
