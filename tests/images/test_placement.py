"""Moving images between folders and making them private (images/services/placement.py)."""

import pytest
from rest_framework.test import APIClient

from environments.webhooks.events import IMAGE_UPDATED
from images.delivery.signing import delivery_url_sign
from images.models import Folder, Image, ImageStatus
from images.services.placement import image_move, image_privacy_set
from imgwire_site import domain
from imgwire_site.domain import Refusal
from tests import imagegen
from tests.uploads import upload


def make_image(environment, name="photo.jpg", **fields) -> Image:
    defaults = {"extension": "jpg", "mime_type": "image/jpeg", "status": ImageStatus.READY}
    return Image.objects.create(
        environment=environment, original_filename=name, **{**defaults, **fields}
    )


def path_of(url: str) -> str:
    return "/cdn/" + url.split("/cdn/", 1)[1]


@pytest.mark.django_db
def test_moving_an_image_creates_the_folder_with_its_parents_and_changes_its_path(owner):
    image = make_image(owner.environment)
    moved = image_move(environment=owner.environment, image_id=image.id, folder="shop//shoes/")
    image.refresh_from_db()
    assert moved.folder == image.folder == "/shop/shoes"
    assert image.file_path == "/shop/shoes/photo.jpg"
    paths = set(Folder.objects.filter(environment=owner.environment).values_list("path", flat=True))
    assert paths == {"/shop", "/shop/shoes"}


@pytest.mark.django_db
def test_moving_back_to_the_root_needs_no_folder(owner):
    image = make_image(owner.environment, folder="/a")
    image_move(environment=owner.environment, image_id=image.id, folder="/")
    image.refresh_from_db()
    assert image.folder == "/"
    assert image.file_path == "/photo.jpg"


@pytest.mark.django_db
def test_a_folder_name_that_cannot_be_stored_is_refused_and_nothing_moves(owner):
    image = make_image(owner.environment, folder="/a")
    with pytest.raises(Refusal) as refused:
        image_move(environment=owner.environment, image_id=image.id, folder="/b/../c")
    assert refused.value.code == domain.INVALID_VALUE
    assert refused.value.field == "folder"
    image.refresh_from_db()
    assert image.folder == "/a"
    assert not Folder.objects.filter(environment=owner.environment).exists()


@pytest.mark.django_db
def test_a_file_that_holds_its_path_is_not_moved_onto_another_files_path(owner):
    make_image(owner.environment, folder="/b", file_name="red.jpg", claims_path=True)
    moving = make_image(owner.environment, folder="/a", file_name="red.jpg", claims_path=True)
    with pytest.raises(Refusal) as refused:
        image_move(environment=owner.environment, image_id=moving.id, folder="/b")
    assert refused.value.code == domain.CONFLICT
    assert "/b/red.jpg" in refused.value.message
    moving.refresh_from_db()
    assert moving.folder == "/a"


@pytest.mark.django_db
def test_images_that_do_not_hold_their_path_may_share_one(owner):
    make_image(owner.environment, folder="/b", file_name="red.jpg", claims_path=True)
    moving = make_image(owner.environment, folder="/a", file_name="red.jpg")
    image_move(environment=owner.environment, image_id=moving.id, folder="/b")
    moving.refresh_from_db()
    assert moving.file_path == "/b/red.jpg"


@pytest.mark.django_db
def test_a_path_held_in_another_environment_does_not_stop_a_move(owner, outsider):
    make_image(outsider.environment, folder="/b", file_name="red.jpg", claims_path=True)
    moving = make_image(owner.environment, folder="/a", file_name="red.jpg", claims_path=True)
    image_move(environment=owner.environment, image_id=moving.id, folder="/b")
    moving.refresh_from_db()
    assert moving.folder == "/b"


@pytest.mark.django_db
def test_another_environments_image_is_not_found_by_either_service(owner, outsider):
    foreign = make_image(outsider.environment)
    for call in (
        lambda: image_move(environment=owner.environment, image_id=foreign.id, folder="/x"),
        lambda: image_privacy_set(
            environment=owner.environment, image_id=foreign.id, is_private=True
        ),
    ):
        with pytest.raises(Refusal) as refused:
            call()
        assert refused.value.code == domain.NOT_FOUND
    foreign.refresh_from_db()
    assert (foreign.folder, foreign.is_private) == ("/", False)


@pytest.mark.django_db
def test_privacy_takes_only_true_or_false(owner):
    image = make_image(owner.environment)
    with pytest.raises(Refusal) as refused:
        image_privacy_set(environment=owner.environment, image_id=image.id, is_private="yes")
    assert refused.value.field == "is_private"


@pytest.mark.django_db
def test_a_move_and_a_privacy_change_each_announce_the_image_as_updated(owner, monkeypatch):
    sent = []
    monkeypatch.setattr(
        "images.services.placement.image_event_emit", lambda image, kind: sent.append(kind)
    )
    image = make_image(owner.environment)
    image_move(environment=owner.environment, image_id=image.id, folder="/a")
    image_move(environment=owner.environment, image_id=image.id, folder="/a")  # no change
    image_privacy_set(environment=owner.environment, image_id=image.id, is_private=True)
    image_privacy_set(environment=owner.environment, image_id=image.id, is_private=True)
    assert sent == [IMAGE_UPDATED, IMAGE_UPDATED]


@pytest.mark.django_db(transaction=True)
def test_a_public_image_made_private_stops_answering_its_plain_url_at_once(owner, stub_worker):
    image_id = upload(owner.server, imagegen.jpeg(), "image/jpeg", "open.jpg")
    stub_worker()
    image = Image.objects.with_environment().get(id=image_id)
    plain = path_of(image.cdn_url)
    assert APIClient().get(plain).status_code == 200  # a public answer, now cached on disk
    assert APIClient().get(plain + "?width=20").status_code == 200

    image_privacy_set(environment=owner.environment, image_id=image_id, is_private=True)
    assert APIClient().get(plain).status_code == 404
    assert APIClient().get(plain + "?width=20").status_code == 404
    signed = APIClient().get(path_of(delivery_url_sign(image, expires_in=60)))
    assert signed.status_code == 200
    assert signed["Cache-Control"].startswith("private")

    image_privacy_set(environment=owner.environment, image_id=image_id, is_private=False)
    assert APIClient().get(plain).status_code == 200
