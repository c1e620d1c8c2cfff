"""An upload that overwrites a file becomes its next version (images/services/versions.py)."""

import io

import pytest
from django.core.files.storage import default_storage
from PIL import Image as PILImage
from rest_framework.test import APIClient

from images.models import Image, ImageTag, ImageVersion, versions_prefix
from images.services.ingest import image_store_new_upload
from images.services.uploads import UploadRequest, image_create_standard_upload
from images.services.versions import image_promoted_to, image_version_promote
from keys.authentication import Access
from tests import imagegen
from tests.uploads import upload

pytestmark = pytest.mark.django_db(transaction=True)


def overwrite(tenant, target_id, data: bytes, **fields):
    """What the ImageKit door does for an existing path: a staging upload replacing it."""
    image, _ = image_create_standard_upload(
        access=Access(environment=tenant.environment),
        request=UploadRequest(
            file_name="photo.jpg",
            mime_type="image/jpeg",
            content_length=len(data),
            replaces_id=target_id,
            **fields,
        ),
    )
    image_store_new_upload(image=image, stream=io.BytesIO(data), length=len(data))
    return image


def delivered_size(cdn_url: str, query: str = "") -> tuple[int, int]:
    response = APIClient().get("/cdn/" + cdn_url.split("/cdn/", 1)[1] + query)
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return PILImage.open(io.BytesIO(body)).size


@pytest.fixture
def first(owner, stub_worker):
    image_id = upload(
        owner.server,
        imagegen.jpeg(width=120, height=80),
        "image/jpeg",
        "photo.jpg",
        tags=["old"],
        custom_metadata={"a": 1},
    )
    stub_worker()
    return Image.objects.get(id=image_id)


def test_an_overwrite_keeps_the_id_and_url_and_serves_the_new_bytes(owner, first, stub_worker):
    url = owner.server.get(f"/api/v1/images/{first.id}").json()["cdn_url"]
    assert delivered_size(url) == (120, 80)
    assert delivered_size(url, "?width=60") == (60, 40)

    staging = overwrite(owner, first.id, imagegen.jpeg(width=200, height=100), tags=["new"])
    stub_worker()

    image = owner.server.get(f"/api/v1/images/{first.id}").json()
    assert image["cdn_url"] == url
    assert (image["width"], image["height"]) == (200, 100)
    assert image["version_info"] == {"id": str(staging.id), "name": "Version 2"}
    assert image["tags"] == ["new"]
    assert delivered_size(url) == (200, 100)
    assert delivered_size(url, "?width=60") == (60, 30)  # no stale variant of version 1
    assert image_promoted_to(staging.id).id == first.id
    listed = [item["id"] for item in owner.server.get("/api/v1/images/").json()]
    assert listed == [str(first.id)]  # the staging upload is not a file of its own


def test_the_earlier_version_is_listed_and_its_bytes_are_kept(owner, first, stub_worker):
    overwrite(owner, first.id, imagegen.jpeg(width=30, height=30))
    stub_worker()
    versions = owner.server.get(f"/api/v1/images/{first.id}/versions").json()
    assert [(v["name"], v["is_current"], v["width"]) for v in versions] == [
        ("Version 2", True, 30),
        ("Version 1", False, 120),
    ]
    kept = ImageVersion.objects.get(image=first)
    with default_storage.open(kept.storage_key) as stored:
        assert PILImage.open(stored).size == (120, 80)


def test_an_overwrite_may_keep_the_tags_and_metadata(owner, first, stub_worker):
    overwrite(
        owner,
        first.id,
        imagegen.jpeg(),
        tags=["new"],
        custom_metadata={"b": 2},
        overwrite_tags=False,
        overwrite_custom_metadata=False,
    )
    stub_worker()
    image = Image.objects.get(id=first.id)
    assert image.tags == ["old"]
    assert image.custom_metadata == {"a": 1}
    assert set(ImageTag.objects.values_list("name", flat=True)) == {"old"}


def test_two_overwrites_make_two_versions_in_turn(owner, first, stub_worker):
    overwrite(owner, first.id, imagegen.jpeg(width=10, height=10))
    stub_worker()
    overwrite(owner, first.id, imagegen.jpeg(width=20, height=20))
    stub_worker()
    image = Image.objects.get(id=first.id)
    assert image.version == 3
    assert list(ImageVersion.objects.filter(image=image).values_list("number", flat=True)) == [
        2,
        1,
    ]


def test_a_quarantined_overwrite_leaves_the_file_as_it_was(owner, first, stub_worker):
    overwrite(owner, first.id, b"\xff\xd8\xff not really a jpeg" * 10)
    stub_worker()
    image = Image.objects.get(id=first.id)
    assert image.version == 1
    assert (image.width, image.height) == (120, 80)


def test_an_overwrite_of_a_file_deleted_meanwhile_stays_a_file_of_its_own(
    owner, first, stub_worker
):
    staging = overwrite(owner, first.id, imagegen.jpeg())
    owner.server.delete(f"/api/v1/images/{first.id}")
    stub_worker()
    kept = Image.objects.get(id=staging.id)
    assert kept.deleted_at is None and kept.replaces_id is None


def test_promoting_twice_changes_nothing_the_second_time(owner, first, stub_worker):
    staging = overwrite(owner, first.id, imagegen.jpeg(width=50, height=50))
    stub_worker()
    assert image_version_promote(staging.id).id == first.id
    assert Image.objects.get(id=first.id).version == 2


def test_deleting_an_image_removes_its_earlier_versions_bytes(owner, first, stub_worker):
    overwrite(owner, first.id, imagegen.jpeg())
    stub_worker()
    prefix = versions_prefix(first.environment_id, first.id)
    assert default_storage.listdir(prefix.rstrip("/"))[1]
    owner.server.delete(f"/api/v1/images/{first.id}")
    stub_worker()
    assert (
        not default_storage.exists(prefix.rstrip("/"))
        or not (default_storage.listdir(prefix.rstrip("/"))[1])
    )


def test_an_overwrite_of_another_environments_image_is_not_found(owner, outsider, first):
    with pytest.raises(Exception, match="does not exist"):
        overwrite(outsider, first.id, imagegen.jpeg())
