import pytest

from images.models import Image
from keys.models import ApiKey
from tests.uploads import create_upload

pytestmark = pytest.mark.django_db


def test_it_creates_a_pending_image_with_an_upload_url(owner):
    response = create_upload(
        owner.server,
        file_name="hero.png",
        content_length=1234,
        purpose="hero",
        custom_metadata={"source": "cms", "published": True, "rank": 3, "score": 0.5},
    )
    assert response.status_code == 200
    data = response.json()
    image = data["image"]
    assert image["status"] == "PENDING"
    assert image["mime_type"] == "image/png"
    assert image["extension"] == "png"
    assert image["can_upload"] is True
    assert image["is_directly_deliverable"] is True
    assert image["width"] == 0 and image["height"] == 0
    assert image["size_bytes"] == 1234
    assert image["custom_metadata"] == {"source": "cms", "published": True, "rank": 3, "score": 0.5}
    assert image["environment_id"] == str(owner.environment.id)
    assert image["cdn_url"].endswith(
        f"/{owner.organization.id}/{owner.environment.id}/{image['id']}"
    )
    assert f"/ingest/{image['id']}?signature=" in data["upload_url"]


def test_it_infers_the_mime_type_from_the_extension(owner):
    response = create_upload(owner.server, file_name="scan.TIFF")
    assert response.json()["image"]["mime_type"] == "image/tiff"


def test_it_requires_a_file_extension(owner):
    response = create_upload(owner.server, file_name="photo")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "file_name"]
    assert "extension" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    ("payload", "loc"),
    [
        ({"file_name": ""}, ["body", "file_name"]),
        ({"file_name": 12}, ["body", "file_name"]),
        ({"mime_type": "image/svg+xml"}, ["body", "mime_type"]),
        ({"content_length": -1}, ["body", "content_length"]),
        ({"content_length": "12"}, ["body", "content_length"]),
        ({"idempotency_key": "x" * 256}, ["body", "idempotency_key"]),
        ({"custom_metadata": {"nested": {"a": 1}}}, ["body", "custom_metadata", "nested"]),
        ({"custom_metadata": {"k": "v" * 513}}, ["body", "custom_metadata", "k"]),
        ({"custom_metadata": {f"k{i}": i for i in range(51)}}, ["body", "custom_metadata"]),
        ({"custom_metadata": [1, 2]}, ["body", "custom_metadata"]),
    ],
)
def test_malformed_fields_answer_422_naming_the_field(owner, payload, loc):
    response = create_upload(owner.server, **payload)
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"] == loc
    assert {"loc", "msg", "type"} <= set(response.json()["detail"][0])


def test_a_missing_file_name_is_reported_as_missing(owner):
    response = owner.server.post("/api/v1/images/standard_upload", {}, format="json")
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body", "file_name"], "msg": "This field is required.", "type": "missing"}
    ]


def test_a_body_that_is_not_json_answers_422(owner):
    response = owner.server.generic(
        "POST", "/api/v1/images/standard_upload", b"{not json", content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_client_keys_refuse_types_outside_their_allow_list(owner):
    ApiKey.objects.filter(key_type="CLIENT").update(allowed_mime_types=["image/png"])
    response = create_upload(owner.browser, file_name="a.gif")
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"].startswith(
        "mime_type image/gif is not allowed for this Client Key"
    )
    assert create_upload(owner.browser, file_name="a.png").status_code == 200


def test_client_keys_refuse_uploads_over_their_maximum(owner):
    ApiKey.objects.filter(key_type="CLIENT").update(maximum_upload_bytes=52428800)
    response = create_upload(owner.browser, content_length=60000000)
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == (
        "content_length 60000000 exceeds this Client Key's maximum_upload_bytes (52428800)"
    )


def test_server_keys_allow_up_to_100_mib(owner):
    assert create_upload(owner.server, content_length=100 * 1024 * 1024).status_code == 200
    assert create_upload(owner.server, content_length=100 * 1024 * 1024 + 1).status_code == 422


def test_a_client_key_that_requires_signed_uploads_refuses_without_a_token(owner):
    ApiKey.objects.filter(key_type="CLIENT").update(allow_unsigned_upload=False)
    response = create_upload(owner.browser)
    assert response.status_code == 401
    assert response.json()["error_type"] == "InvalidTokenError"
    assert "Invalid upload token" in response.json()["detail"]


def test_an_upload_token_is_used_once(owner):
    ApiKey.objects.filter(key_type="CLIENT").update(allow_unsigned_upload=False)
    token = owner.server.post("/api/v1/images/token").json()
    assert token["used_at"] is None
    url = f"/api/v1/images/standard_upload?upload_token={token['token']}"
    first = owner.browser.post(url, {"file_name": "a.jpg"}, format="json")
    assert first.status_code == 200
    assert first.json()["image"]["upload_token_id"] == token["id"]
    second = owner.browser.post(url, {"file_name": "b.jpg"}, format="json")
    assert second.status_code == 401


def test_an_upload_token_from_another_environment_is_refused(owner, outsider):
    ApiKey.objects.filter(key_type="CLIENT").update(allow_unsigned_upload=False)
    token = outsider.server.post("/api/v1/images/token").json()["token"]
    response = owner.browser.post(
        f"/api/v1/images/standard_upload?upload_token={token}",
        {"file_name": "a.jpg"},
        format="json",
    )
    assert response.status_code == 401


def test_an_expired_upload_token_is_refused(owner):
    from datetime import timedelta

    from django.utils import timezone

    from keys.models import UploadToken

    ApiKey.objects.filter(key_type="CLIENT").update(allow_unsigned_upload=False)
    token = owner.server.post("/api/v1/images/token").json()
    UploadToken.objects.filter(id=token["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = owner.browser.post(
        f"/api/v1/images/standard_upload?upload_token={token['token']}",
        {"file_name": "a.jpg"},
        format="json",
    )
    assert response.status_code == 401


def test_a_validation_error_does_not_burn_the_upload_token(owner):
    ApiKey.objects.filter(key_type="CLIENT").update(allow_unsigned_upload=False)
    token = owner.server.post("/api/v1/images/token").json()["token"]
    url = f"/api/v1/images/standard_upload?upload_token={token}"
    assert owner.browser.post(url, {"file_name": "noext"}, format="json").status_code == 422
    assert owner.browser.post(url, {"file_name": "a.jpg"}, format="json").status_code == 200


def test_client_keys_are_capped_on_pending_uploads(owner):
    ApiKey.objects.filter(key_type="CLIENT").update(maximum_pending_uploads=5)
    for _ in range(5):
        assert create_upload(owner.browser).status_code == 200
    response = create_upload(owner.browser)
    assert response.status_code == 429
    assert response.json()["error_type"] == "RateLimitedError"
    assert response["Retry-After"]
    # Server keys are not capped by the Client key's policy.
    assert create_upload(owner.server).status_code == 200


def test_the_same_idempotency_key_and_parameters_return_the_same_image(owner):
    first = create_upload(owner.server, idempotency_key="k-1", content_length=10)
    second = create_upload(owner.server, idempotency_key="k-1", content_length=10)
    assert first.json()["image"]["id"] == second.json()["image"]["id"]
    assert second.json()["upload_url"]
    assert Image.objects.count() == 1


def test_the_same_idempotency_key_with_other_parameters_is_a_conflict(owner):
    create_upload(owner.server, idempotency_key="k-1", content_length=10)
    response = create_upload(owner.server, idempotency_key="k-1", content_length=11)
    assert response.status_code == 409
    assert response.json()["error_type"] == "ConflictError"


def test_idempotency_keys_are_scoped_to_the_environment(owner, outsider):
    mine = create_upload(owner.server, idempotency_key="shared")
    theirs = create_upload(outsider.server, idempotency_key="shared")
    assert mine.json()["image"]["id"] != theirs.json()["image"]["id"]


def test_upload_tokens_expire_after_ten_minutes(owner):
    from datetime import datetime

    token = owner.server.post("/api/v1/images/token").json()
    created = datetime.fromisoformat(token["created_at"].replace("Z", "+00:00"))
    expires = datetime.fromisoformat(token["expires_at"].replace("Z", "+00:00"))
    assert round((expires - created).total_seconds()) == 600
    assert token["environment_id"] == str(owner.environment.id)
    assert token["token"].startswith("ut_")
