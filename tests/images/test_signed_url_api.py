"""POST /api/v1/images/{id}/signed_url: how a backend shows a private image."""

import pytest
from rest_framework.test import APIClient

from tests import imagegen
from tests.uploads import upload

pytestmark = pytest.mark.django_db(transaction=True)


def path_of(url: str) -> str:
    return "/cdn/" + url.split("/cdn/", 1)[1]


@pytest.fixture
def private(owner, stub_worker):
    image_id = upload(owner.server, imagegen.jpeg(), "image/jpeg", "secret.jpg", is_private=True)
    stub_worker()
    return owner.server.get(f"/api/v1/images/{image_id}").json()


def test_a_signed_url_serves_a_private_image_that_its_plain_url_does_not(owner, private):
    assert APIClient().get(path_of(private["cdn_url"])).status_code == 404
    answer = owner.server.post(
        f"/api/v1/images/{private['id']}/signed_url",
        {"expires_in": 600, "transformation": "width=20"},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["expires_at"] is not None
    assert APIClient().get(path_of(answer.json()["url"])).status_code == 200


@pytest.mark.parametrize(
    "body", [{"expires_in": -1}, {"expires_in": "soon"}, {"transformation": "width=banana"}]
)
def test_a_signed_url_request_that_cannot_be_honoured_answers_422(owner, private, body):
    answer = owner.server.post(f"/api/v1/images/{private['id']}/signed_url", body, format="json")
    assert answer.status_code == 422, answer.content


def test_another_environment_cannot_sign_and_a_client_key_may_not(owner, outsider, private):
    url = f"/api/v1/images/{private['id']}/signed_url"
    assert outsider.server.post(url, {}, format="json").status_code == 404
    assert owner.browser.post(url, {}, format="json").status_code in (401, 403)
