"""Direct uploads (`base/`) and `info/` through pyuploadcare 6.3.0, against a live server."""

import hashlib
import hmac
import time

import pytest
import requests
from pyuploadcare import Uploadcare
from pyuploadcare.exceptions import AuthenticationError, InvalidRequestError

from images.compat.uploadcare.models import UploadcareFile
from images.models import Image, ImageStatus
from tests.imagegen import jpeg, png_rgba

pytestmark = pytest.mark.django_db(transaction=True)


def photo(tmp_path, name="photo.jpg", data=None):
    path = tmp_path / name
    path.write_bytes(data if data is not None else jpeg(64, 48))
    return path


def test_an_upload_from_pyuploadcare_becomes_an_imgwire_image_of_the_keys_environment(
    owner, uploadcare, tmp_path, stub_worker
):
    with photo(tmp_path).open("rb") as handle:
        uploaded = uploadcare.upload(handle, metadata={"subsystem": "uploader", "pet": "cat"})
    image = Image.objects.get(id=uploaded.uuid)
    assert image.environment == owner.environment
    assert image.original_filename == "photo.jpg"
    assert image.custom_metadata == {"subsystem": "uploader", "pet": "cat"}
    stub_worker()
    listed = owner.server.get("/api/v1/images/").json()
    assert [(i["id"], i["status"]) for i in listed] == [(str(uploaded.uuid), "READY")]
    assert listed[0]["custom_metadata"] == {"subsystem": "uploader", "pet": "cat"}


def test_the_answer_is_keyed_by_each_file_parts_field_name(owner, upload_base, tmp_path):
    answer = requests.post(
        f"{upload_base}base/",
        data={"UPLOADCARE_PUB_KEY": owner.client_key, "UPLOADCARE_STORE": "auto"},
        files={
            "my_file.jpg": ("my_file.jpg", jpeg(20, 20), "image/jpeg"),
            "file": ("blob", png_rgba(10, 10), "image/png"),
        },
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"my_file.jpg", "file"}
    blob = Image.objects.get(id=body["file"])
    assert blob.mime_type == "image/png"
    assert blob.original_filename == "blob.png"  # Imgwire names need an extension


def test_info_says_not_ready_until_the_file_is_verified(owner, uploadcare, upload_base, tmp_path):
    with photo(tmp_path).open("rb") as handle:  # no worker runs in this test
        file_id = str(uploadcare.upload(handle).uuid)
    query = {"pub_key": owner.client_key, "file_id": file_id}
    before = requests.get(f"{upload_base}info/", params=query, timeout=10).json()
    assert before["is_ready"] is False and before["image_info"] is None
    assert before["uuid"] == file_id and before["mime_type"] == "image/jpeg"


def test_info_reports_the_verified_file_as_uploadcare_describes_it(
    owner, uploadcare, upload_base, tmp_path, stub_worker
):
    with photo(tmp_path).open("rb") as handle:
        file_id = str(uploadcare.upload(handle, store=False).uuid)
    query = {"pub_key": owner.client_key, "file_id": file_id}
    stub_worker()
    after = requests.get(f"{upload_base}info/", params=query, timeout=10).json()
    assert after["uuid"] == after["file_id"] == file_id
    assert after["is_ready"] is True and after["is_stored"] is False
    assert after["mime_type"] == "image/jpeg" and after["is_image"] is True
    assert (after["image_info"]["width"], after["image_info"]["height"]) == (64, 48)
    assert after["image_info"]["geo_location"] is None
    assert after["size"] == after["total"] == after["done"] == len(jpeg(64, 48))
    assert after["filename"] == "photo.jpg"
    assert requests.get(after["url"], timeout=10).status_code == 200


def test_store_zero_keeps_a_file_for_24_hours_and_store_one_keeps_it(uploadcare, tmp_path):
    with photo(tmp_path, "a.jpg").open("rb") as handle:
        temporary = uploadcare.upload(handle, store=False)
    with photo(tmp_path, "b.jpg").open("rb") as handle:
        stored = uploadcare.upload(handle, store=True)
    with photo(tmp_path, "c.jpg").open("rb") as handle:
        auto = uploadcare.upload(handle)  # store=None: "auto", the environment's auto-store
    rows = {str(row.image_id): row for row in UploadcareFile.objects.all()}
    assert not rows[temporary.uuid].is_stored
    remaining = rows[temporary.uuid].remove_after - rows[temporary.uuid].created_at
    assert remaining.total_seconds() == 24 * 3600
    assert rows[stored.uuid].is_stored and rows[auto.uuid].is_stored


def test_a_quarantined_file_answers_an_error_so_widgets_stop_polling(
    owner, uploadcare, upload_base, tmp_path, stub_worker
):
    with photo(tmp_path, "broken.jpg", b"\xff\xd8\xff\xe0" + b"not really a jpeg" * 20).open(
        "rb"
    ) as handle:
        file_id = str(uploadcare.upload(handle).uuid)
    stub_worker()
    assert Image.objects.get(id=file_id).status == ImageStatus.QUARANTINE
    answer = requests.get(
        f"{upload_base}info/", params={"pub_key": owner.client_key, "file_id": file_id}, timeout=10
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["error_code"] == "FileTypeForbiddenError"


def test_info_of_another_environments_file_is_not_found(
    owner, outsider, uploadcare, upload_base, tmp_path
):
    with photo(tmp_path).open("rb") as handle:
        file_id = str(uploadcare.upload(handle).uuid)
    answer = requests.get(
        f"{upload_base}info/",
        params={"pub_key": outsider.client_key, "file_id": file_id},
        timeout=10,
    )
    assert answer.status_code == 404
    assert answer.json()["error"]["error_code"] == "FileNotFoundError"


def test_signed_uploads_work_with_the_environments_signing_secret(
    signed_only, upload_base, tmp_path
):
    public_key, secret = signed_only
    client = Uploadcare(
        public_key=public_key, secret_key=secret, upload_base=upload_base, signed_uploads=True
    )
    with photo(tmp_path).open("rb") as handle:
        assert Image.objects.filter(id=client.upload(handle).uuid).exists()


@pytest.mark.parametrize(
    ("secret", "ttl", "error", "code"),
    [
        ("ss_not-the-secret", 600, AuthenticationError, "SignatureInvalidError"),
        (None, -60, AuthenticationError, "SignatureExpirationError"),
    ],
)
def test_a_wrong_or_expired_signature_is_refused(
    signed_only, upload_base, tmp_path, secret, ttl, error, code
):
    public_key, real_secret = signed_only
    client = Uploadcare(
        public_key=public_key,
        secret_key=secret or real_secret,
        upload_base=upload_base,
        signed_uploads=True,
        signed_uploads_ttl=ttl,
    )
    with photo(tmp_path).open("rb") as handle, pytest.raises(error, match=code):
        client.upload(handle)
    assert not Image.objects.exists()


def test_an_unsigned_upload_with_a_signed_only_key_is_refused(signed_only, upload_base, tmp_path):
    public_key, _ = signed_only
    client = Uploadcare(
        public_key=public_key, secret_key="x", upload_base=upload_base, signed_uploads=False
    )
    with (
        photo(tmp_path).open("rb") as handle,
        pytest.raises(InvalidRequestError, match="SignatureRequiredError"),
    ):
        client.upload(handle)
    assert not Image.objects.exists()


@pytest.mark.parametrize("which", ["unknown", "server"])
def test_a_bad_public_key_is_refused(owner, upload_base, tmp_path, which):
    key = {"unknown": "ck_" + "x" * 43, "server": owner.server_key}[which]
    client = Uploadcare(public_key=key, secret_key="x", upload_base=upload_base)
    with (
        photo(tmp_path).open("rb") as handle,
        pytest.raises(AuthenticationError, match="ProjectPublicKeyInvalidError"),
    ):
        client.upload(handle)


def test_a_file_over_the_keys_size_limit_is_refused(owner, upload_base, tmp_path):
    from keys.models import ApiKeyType
    from keys.services import api_key_create

    _, small = api_key_create(
        environment=owner.environment,
        name="small",
        key_type=ApiKeyType.CLIENT,
        maximum_upload_bytes=5 * 1024,
    )
    client = Uploadcare(public_key=small, secret_key="x", upload_base=upload_base)
    big = photo(tmp_path, "big.jpg", jpeg(600, 400))
    with (
        big.open("rb") as handle,
        pytest.raises(InvalidRequestError, match="FileSizeLimitExceededError"),
    ):
        client.upload(handle)
    assert not Image.objects.exists()


def test_a_file_that_is_not_an_image_is_refused(uploadcare, tmp_path):
    with (
        photo(tmp_path, "notes.txt", b"just some text").open("rb") as handle,
        pytest.raises(InvalidRequestError, match="FileTypeForbiddenError"),
    ):
        uploadcare.upload(handle)
    assert not Image.objects.exists()


def signature(secret: str, expire: int) -> str:
    return hmac.new(secret.encode(), str(expire).encode(), hashlib.sha256).hexdigest()


def test_a_signature_made_before_a_rotation_keeps_working_through_the_overlap(
    owner, signed_only, upload_base
):
    from keys.signing import signing_secret_rotate

    public_key, old_secret = signed_only
    signing_secret_rotate(environment=owner.environment)
    expire = int(time.time()) + 600
    answer = requests.post(
        f"{upload_base}base/",
        data={
            "UPLOADCARE_PUB_KEY": public_key,
            "expire": str(expire),
            "signature": signature(old_secret, expire),
        },
        files={"file": ("a.jpg", jpeg(8, 8), "image/jpeg")},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


def test_imgwires_additive_tags_field_tags_a_direct_upload_and_bad_tags_are_refused(
    owner, upload_base, tmp_path
):
    files = {"file": ("beach.jpg", jpeg(32, 24), "image/jpeg")}
    form = {"UPLOADCARE_PUB_KEY": owner.client_key, "tags": "summer, beach,summer"}
    answer = requests.post(upload_base + "base/", data=form, files=files, timeout=30)
    assert answer.status_code == 200, answer.text
    image = Image.objects.get(id=answer.json()["file"])
    assert image.tags == ["summer", "beach"]
    tagged = owner.server.get("/api/v1/images/", {"tag": "beach"}).json()
    assert [i["id"] for i in tagged] == [str(image.id)]
    bad = requests.post(
        upload_base + "base/",
        data={"UPLOADCARE_PUB_KEY": owner.client_key, "tags": "a%b"},
        files={"file": ("x.jpg", jpeg(8, 8), "image/jpeg")},
        timeout=30,
    )
    assert bad.status_code == 400 and "tags" in bad.text
    assert Image.objects.count() == 1
