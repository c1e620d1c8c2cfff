"""Every endpoint refuses the wrong credential, and nobody sees another tenant's images."""

import uuid

import pytest
from django.utils import timezone

from images.models import Image
from keys.models import ApiKey
from tests.uploads import create_upload

pytestmark = pytest.mark.django_db

SERVER_ONLY = [
    ("get", "/api/v1/images/", None),
    ("post", "/api/v1/images/token", None),
    ("post", "/api/v1/images/bulk_delete", {"image_ids": [str(uuid.uuid4())]}),
    ("delete", "/api/v1/images/{id}", None),
]
ANY_KEY = [
    ("post", "/api/v1/images/standard_upload", {"file_name": "a.jpg"}),
    ("get", "/api/v1/images/{id}", None),
]
ALL = SERVER_ONLY + ANY_KEY


@pytest.fixture
def image_id(owner):
    return create_upload(owner.server).json()["image"]["id"]


def call(client, method, path, payload, image_id):
    return getattr(client, method)(path.format(id=image_id), payload, format="json")


@pytest.mark.parametrize(("method", "path", "payload"), ALL)
def test_no_key_answers_401(owner, image_id, method, path, payload):
    response = call(owner.client(), method, path, payload, image_id)
    assert response.status_code == 401
    assert response.json()["error_type"] == "InvalidTokenError"


@pytest.mark.parametrize(("method", "path", "payload"), ALL)
def test_a_wrong_key_answers_401(owner, image_id, method, path, payload):
    wrong = owner.server_key[:-4] + ("AAAA" if not owner.server_key.endswith("AAAA") else "BBBB")
    for key in (wrong, "sk_nonsense", "not-a-key", "ck_" + "x" * 200):
        response = call(owner.client(key), method, path, payload, image_id)
        assert response.status_code == 401, key


@pytest.mark.parametrize(("method", "path", "payload"), ALL)
def test_a_revoked_key_answers_401_on_the_next_request(owner, image_id, method, path, payload):
    ApiKey.objects.update(revoked_at=timezone.now())
    response = call(owner.server, method, path, payload, image_id)
    assert response.status_code == 401


def test_a_malformed_authorization_header_answers_401(owner):
    client = owner.client()
    client.credentials(HTTP_AUTHORIZATION=f"Basic {owner.server_key}")
    assert client.get("/api/v1/images/").status_code == 401


@pytest.mark.parametrize(("method", "path", "payload"), SERVER_ONLY)
def test_a_client_key_cannot_use_server_operations(owner, image_id, method, path, payload):
    response = call(owner.browser, method, path, payload, image_id)
    assert response.status_code == 403
    assert response.json()["error_type"] == "OperationNotAllowedError"
    assert Image.objects.alive().count() == 1


@pytest.mark.parametrize(
    ("method", "path"), [("get", "/api/v1/images/{id}"), ("delete", "/api/v1/images/{id}")]
)
def test_another_environments_image_answers_404_like_a_missing_one(
    owner, outsider, image_id, method, path
):
    theirs = call(outsider.server, method, path, None, image_id)
    missing = call(outsider.server, method, path, None, uuid.uuid4())
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["error_type"] == missing.json()["error_type"] == "ResourceNotFoundError"
    assert Image.objects.alive().filter(id=image_id).exists()


def test_a_client_key_reads_its_environments_images_only(owner, outsider, image_id):
    assert owner.browser.get(f"/api/v1/images/{image_id}").status_code == 200
    assert outsider.browser.get(f"/api/v1/images/{image_id}").status_code == 404


def test_bulk_delete_with_another_environments_id_refuses_the_whole_request(
    owner, outsider, image_id
):
    mine = create_upload(outsider.server).json()["image"]["id"]
    response = outsider.server.post(
        "/api/v1/images/bulk_delete", {"image_ids": [mine, image_id]}, format="json"
    )
    assert response.status_code == 404
    assert Image.objects.alive().count() == 2


def test_the_list_shows_only_the_callers_environment(owner, outsider, image_id):
    create_upload(outsider.server)
    listed = owner.server.get("/api/v1/images/").json()
    assert [i["id"] for i in listed] == [image_id]


def test_a_member_session_acts_in_the_environment_named_by_the_header(owner, image_id):
    client = owner.client()
    client.force_login(owner.user)
    listed = client.get("/api/v1/images/", HTTP_X_ENVIRONMENT_ID=str(owner.environment.id))
    assert listed.status_code == 200
    assert [i["id"] for i in listed.json()] == [image_id]


def test_a_session_without_the_environment_header_is_refused(owner):
    client = owner.client()
    client.force_login(owner.user)
    response = client.get("/api/v1/images/")
    assert response.status_code == 403
    assert "X-Environment-Id" in response.json()["detail"]


def test_a_session_cannot_act_in_another_organizations_environment(owner, outsider, image_id):
    client = owner.client()
    client.force_login(outsider.user)
    for env_id in (owner.environment.id, uuid.uuid4(), "not-a-uuid"):
        response = client.get(f"/api/v1/images/{image_id}", HTTP_X_ENVIRONMENT_ID=str(env_id))
        assert response.status_code == 403
        assert (
            response.json()["detail"]
            == ("X-Environment-Id does not name an environment you are a member of.")
            or "X-Environment-Id" in response.json()["detail"]
        )


def test_a_developer_member_manages_images(owner, developer, image_id):
    client = owner.client()
    client.force_login(developer)
    response = client.delete(
        f"/api/v1/images/{image_id}", HTTP_X_ENVIRONMENT_ID=str(owner.environment.id)
    )
    assert response.status_code == 200


def test_keys_are_stored_as_a_prefix_and_a_keyed_hash(owner):
    for key in ApiKey.objects.all():
        assert owner.server_key not in (key.prefix + key.secret_hash)
        assert len(key.secret_hash) == 64
    assert ApiKey.objects.filter(prefix=owner.server_key[:16]).count() == 1


def test_a_client_key_cannot_be_sent_with_a_server_key_prefix(owner):
    forged = "sk_" + owner.client_key[3:]
    assert owner.client(forged).get("/api/v1/images/").status_code == 401
