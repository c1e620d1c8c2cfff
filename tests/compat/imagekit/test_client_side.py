"""Client-side uploads: publicKey + token + expire + signature (v1) and the v2 JWT, made
the SDK's way (imagekitio's helper, PyJWT as ImageKit's docs sign it) and sent as a
browser sends them (no Authorization header)."""

import time
import uuid

import jwt
import pytest

from images.compat.imagekit.auth import imagekit_tokens_forget_expired
from images.compat.imagekit.models import SpentToken
from images.models import Image
from keys.models import ApiKeyType
from keys.services import api_key_create
from keys.signing import signing_secret_rotate
from tests.compat.imagekit.conftest import client_auth, post
from tests.imagegen import jpeg

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_upload_signed_by_the_sdk_helper_is_accepted(owner, imagekit, api_root, stub_worker):
    auth = imagekit.helper.get_authentication_parameters()
    fields = {"fileName": "c.jpg", "publicKey": owner.client_key, **auth}
    answer = post(api_root, fields, file=jpeg(25, 15))
    assert answer.status_code == 200, answer.text
    image = Image.objects.get(id=answer.json()["fileId"])
    assert image.environment == owner.environment and image.width == 25


def test_the_python_sdk_uploads_client_side_with_its_signature(
    owner, private_key, api_root, stub_worker
):
    from imagekitio import ImageKit

    # The SDK always sends Basic credentials too; the signature fields decide.
    client = ImageKit(private_key="not-used-for-this", base_url=api_root, max_retries=0)
    uploaded = client.files.upload(
        file=jpeg(), file_name="d.jpg", public_key=owner.client_key, **client_auth(private_key)
    )
    assert Image.objects.get(id=uploaded.file_id).environment == owner.environment


def test_a_token_is_used_once_even_when_its_first_request_failed(owner, private_key, api_root):
    auth = client_auth(private_key)
    fields = {"fileName": "n.txt", "publicKey": owner.client_key, **auth}
    failed = post(api_root, fields, file=b"not an image")
    assert failed.status_code == 400
    again = post(api_root, {**fields, "fileName": "n.jpg"}, file=jpeg())
    assert again.status_code == 400
    assert "has been used before" in again.json()["message"]
    assert set(again.json()) == {"message", "help"}


def test_an_expired_signature_is_refused(owner, private_key, api_root):
    auth = client_auth(private_key, expire=int(time.time()) - 5)
    answer = post(
        api_root, {"fileName": "a.jpg", "publicKey": owner.client_key, **auth}, file=jpeg()
    )
    assert answer.status_code == 400
    assert "less than 1 hour into the future" in answer.json()["message"]


def test_an_expire_more_than_an_hour_ahead_is_refused(owner, private_key, api_root):
    auth = client_auth(private_key, expire=int(time.time()) + 3700)
    answer = post(
        api_root, {"fileName": "a.jpg", "publicKey": owner.client_key, **auth}, file=jpeg()
    )
    assert answer.status_code == 400
    assert "less than 1 hour into the future" in answer.json()["message"]


def test_a_wrong_signature_is_refused(owner, api_root):
    auth = client_auth("ss_someone-elses-secret")
    answer = post(
        api_root, {"fileName": "a.jpg", "publicKey": owner.client_key, **auth}, file=jpeg()
    )
    assert answer.status_code == 400
    assert "Invalid signature" in answer.json()["message"]


def test_a_server_key_as_public_key_is_refused(owner, private_key, api_root):
    auth = client_auth(private_key)
    answer = post(
        api_root, {"fileName": "a.jpg", "publicKey": owner.server_key, **auth}, file=jpeg()
    )
    assert answer.status_code == 401


def test_a_signature_by_the_rotated_secret_works_during_the_overlap(
    owner, private_key, api_root, stub_worker
):
    signing_secret_rotate(environment=owner.environment)
    auth = client_auth(private_key)
    answer = post(
        api_root, {"fileName": "a.jpg", "publicKey": owner.client_key, **auth}, file=jpeg()
    )
    assert answer.status_code == 200, answer.text


def test_a_signed_upload_works_for_a_key_that_refuses_unsigned_uploads(
    owner, private_key, api_root, stub_worker
):
    _, strict = api_key_create(
        environment=owner.environment,
        name="strict",
        key_type=ApiKeyType.CLIENT,
        allow_unsigned_upload=False,
    )
    answer = post(
        api_root,
        {"fileName": "a.jpg", "publicKey": strict, **client_auth(private_key)},
        file=jpeg(),
    )
    assert answer.status_code == 200, answer.text


def test_spent_tokens_are_forgotten_once_expired(owner, private_key, api_root, stub_worker):
    post(
        api_root,
        {"fileName": "a.jpg", "publicKey": owner.client_key, **client_auth(private_key)},
        file=jpeg(),
    )
    assert SpentToken.objects.count() == 1
    assert imagekit_tokens_forget_expired(now=None) == 0
    from datetime import timedelta

    from django.utils import timezone

    assert imagekit_tokens_forget_expired(now=timezone.now() + timedelta(hours=2)) == 1


def jwt_token(private_key: str, public_key: str, payload: dict, *, ahead: int = 600) -> str:
    now = int(time.time())
    return jwt.encode(
        {**payload, "iat": now, "exp": now + ahead},
        private_key,
        algorithm="HS256",
        headers={"kid": public_key},
    )


def test_a_v2_upload_with_a_jwt_of_its_fields_is_accepted(
    owner, private_key, api_root, stub_worker
):
    fields = {"fileName": "v2.jpg", "tags": "a,b", "useUniqueFileName": "false"}
    token = jwt_token(private_key, owner.client_key, fields)
    answer = post(api_root, {**fields, "token": token}, file=jpeg(), version=2)
    assert answer.status_code == 200, answer.text
    assert answer.json()["filePath"] == "/v2.jpg"
    assert answer.json()["tags"] == ["a", "b"]
    reused = post(api_root, {**fields, "token": token}, file=jpeg(), version=2)
    assert reused.status_code == 400 and "used before" in reused.json()["message"]


def test_a_v2_upload_with_a_tampered_field_is_refused(owner, private_key, api_root):
    token = jwt_token(private_key, owner.client_key, {"fileName": "v2.jpg", "tags": "a"})
    answer = post(
        api_root, {"fileName": "v2.jpg", "tags": "a,admin", "token": token}, file=jpeg(), version=2
    )
    assert answer.status_code == 400
    assert "tags" in answer.json()["message"]
    extra = post(
        api_root,
        {
            "fileName": "v2.jpg",
            "tags": "a",
            "folder": "/x",
            "token": jwt_token(private_key, owner.client_key, {"fileName": "v2.jpg", "tags": "a"}),
        },
        file=jpeg(),
        version=2,
    )
    assert extra.status_code == 400 and "folder" in extra.json()["message"]


def test_a_v2_field_nested_past_the_stack_is_refused_as_not_the_signed_one(
    owner, private_key, api_root
):
    signed = {"fileName": "v2.jpg", "customMetadata": {"k": "v"}}  # a claim holding JSON
    token = jwt_token(private_key, owner.client_key, signed)
    deep = "[" * 5000 + "]" * 5000
    answer = post(
        api_root, {"fileName": "v2.jpg", "customMetadata": deep, "token": token}, version=2
    )
    assert answer.status_code == 400, answer.text
    assert "customMetadata" in answer.json()["message"]


def test_a_v2_jwt_signed_with_another_key_or_too_long_lived_is_refused(
    owner, private_key, api_root
):
    fields = {"fileName": "v2.jpg"}
    wrong = jwt_token("ss_" + "other" * 10, owner.client_key, fields)
    answer = post(api_root, {**fields, "token": wrong}, file=jpeg(), version=2)
    assert answer.status_code == 400 and "signature" in answer.json()["message"]
    long_lived = jwt_token(private_key, owner.client_key, fields, ahead=7200)
    answer = post(api_root, {**fields, "token": long_lived}, file=jpeg(), version=2)
    assert answer.status_code == 400 and "1 hour" in answer.json()["message"]
    unsigned = jwt.encode(
        {**fields, "exp": int(time.time()) + 60},
        key="",
        algorithm="none",
        headers={"kid": owner.client_key},
    )
    answer = post(api_root, {**fields, "token": unsigned}, file=jpeg(), version=2)
    assert answer.status_code == 400


def test_a_v2_upload_without_a_token_uses_basic_auth(owner, imagekit, stub_worker):
    uploaded = imagekit.beta.v2.files.upload(file=jpeg(), file_name=f"{uuid.uuid4().hex}.jpg")
    assert Image.objects.get(id=uploaded.file_id).environment == owner.environment
