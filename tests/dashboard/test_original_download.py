"""Issue #15: "Download the original" gives members the stored bytes as an attachment,
also for a private image and a blocked organization, and nobody else."""

import hashlib

import pytest

from images.models import Image, ImageStatus
from images.services.placement import image_privacy_set
from tests import imagegen
from tests.dashboard.conftest import signed_in
from tests.uploads import upload

pytestmark = pytest.mark.django_db(transaction=True)

ORIGINAL = imagegen.jpeg(width=640, height=480)


@pytest.fixture
def photo(owner, stub_worker):
    image_id = upload(owner.server, ORIGINAL, "image/jpeg", "Été à Paris.jpg")
    stub_worker()
    return Image.objects.get(id=image_id)


def _url(owner, image) -> str:
    return f"/dashboard/{owner.environment.id}/images/{image.id}/original/"


def _bytes(response) -> bytes:
    return b"".join(response.streaming_content)


def test_a_member_downloads_the_stored_original_under_its_own_name(owner, photo):
    response = signed_in(owner.user).get(_url(owner, photo))
    assert response.status_code == 200
    assert _bytes(response) == ORIGINAL
    assert hashlib.sha256(ORIGINAL).hexdigest() == photo.hash_sha256
    assert response["Content-Type"] == "image/jpeg"
    assert response["Content-Length"] == str(len(ORIGINAL))
    assert response["X-Content-Type-Options"] == "nosniff"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=utf-8''%C3%89t%C3%A9%20%C3%A0%20Paris.jpg" in disposition


def test_a_private_image_of_a_blocked_organization_still_downloads_for_members(owner, photo):
    image_privacy_set(environment=owner.environment, image_id=photo.id, is_private=True)
    owner.organization.blocked = True
    owner.organization.save()
    response = signed_in(owner.user).get(_url(owner, photo))
    assert response.status_code == 200
    assert _bytes(response) == ORIGINAL


def test_outsiders_and_images_that_are_not_ready_get_the_same_404(owner, outsider, photo):
    assert signed_in(outsider.user).get(_url(owner, photo)).status_code == 404
    Image.objects.filter(id=photo.id).update(status=ImageStatus.PENDING)
    response = signed_in(owner.user).get(_url(owner, photo))
    assert response.status_code == 404
    assert response.json()["detail"] == "No such image in this environment."


def test_signed_out_visitors_are_sent_to_sign_in(owner, photo, client):
    response = client.get(_url(owner, photo))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
