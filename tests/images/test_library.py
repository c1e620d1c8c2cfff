"""Tags, folders, private flags and focus areas through the Resource API (docs/library.md)."""

from ipaddress import ip_network

import pytest

from images.models import Folder, Image, ImageTag
from tests import imagegen, sourceserver
from tests.uploads import create_upload, upload

pytestmark = pytest.mark.django_db
source_server = sourceserver.source_server


def test_an_upload_carries_its_tags_folder_privacy_and_focus_area(owner):
    created = create_upload(
        owner.server,
        file_name="shoe.jpg",
        tags=["summer", "shoes", "summer"],
        folder="products//shoes/",
        is_private=True,
        custom_coordinates="10,20,30,40",
    )
    assert created.status_code == 200, created.content
    image = created.json()["image"]
    assert image["tags"] == ["summer", "shoes"]
    assert image["folder"] == "/products/shoes"
    assert image["file_path"] == "/products/shoes/shoe.jpg"
    assert image["is_private"] is True
    assert image["custom_coordinates"] == "10,20,30,40"
    assert image["version_info"]["name"] == "Version 1"
    paths = set(Folder.objects.filter(environment=owner.environment).values_list("path", flat=True))
    assert paths == {"/products", "/products/shoes"}


def test_an_upload_without_library_fields_sits_at_the_root_untagged_and_public(owner):
    image = create_upload(owner.server, file_name="dir/photo.jpg").json()["image"]
    assert image["tags"] == []
    assert image["folder"] == "/"
    assert image["file_path"] == "/photo.jpg"
    assert image["is_private"] is False
    assert image["custom_coordinates"] == ""


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"tags": ["50%"]}, "tags"),
        ({"tags": ["a,b"]}, "tags"),
        ({"tags": ["x" * 101]}, "tags"),
        ({"tags": "summer"}, "tags"),
        ({"folder": "/a/../b"}, "folder"),
        ({"folder": "/" + "/".join(["f"] * 51)}, "folder"),
        ({"folder": "/a/<script>"}, "folder"),
        ({"custom_coordinates": "1,2,3"}, "custom_coordinates"),
        ({"custom_coordinates": "1,2,0,4"}, "custom_coordinates"),
        ({"is_private": "perhaps"}, "is_private"),
    ],
)
def test_library_fields_that_cannot_be_stored_answer_422_naming_the_field(owner, fields, field):
    response = create_upload(owner.server, file_name="photo.jpg", **fields)
    assert response.status_code == 422, response.content
    assert field in response.content.decode()


def test_the_list_finds_images_by_tag_and_by_folder(owner, outsider):
    a = create_upload(owner.server, file_name="a.jpg", tags=["red"], folder="/x").json()
    b = create_upload(owner.server, file_name="b.jpg", tags=["red", "big"], folder="/x/y").json()
    create_upload(owner.server, file_name="c.jpg", tags=["blue"])
    create_upload(outsider.server, file_name="d.jpg", tags=["red"], folder="/x")

    def ids(query):
        response = owner.server.get(f"/api/v1/images/?{query}")
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()]

    assert ids("tag=red") == [b["image"]["id"], a["image"]["id"]]
    assert ids("tag=big") == [b["image"]["id"]]
    assert ids("folder=/x") == [a["image"]["id"]]
    assert ids("folder=x&recursive=true") == [b["image"]["id"], a["image"]["id"]]
    assert ids("tag=none") == []


@pytest.mark.parametrize("query", ["tag=50%25", "folder=/a/..", "recursive=maybe"])
def test_a_list_filter_that_cannot_match_anything_valid_answers_422(owner, query):
    response = owner.server.get(f"/api/v1/images/?{query}")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "query"


def test_listing_by_tag_costs_the_same_queries_as_the_plain_list(owner, django_assert_num_queries):
    for n in range(5):
        create_upload(owner.server, file_name=f"{n}.jpg", tags=["t"])
    client = owner.server
    client.get("/api/v1/images/")  # warm the key cache
    plain = _count(client, "/api/v1/images/")
    # The tag's page is read from the tag index, then its images by id: one query more.
    with django_assert_num_queries(plain + 1):
        client.get("/api/v1/images/?tag=t")


def test_a_deleted_image_leaves_the_tag_index(owner):
    image_id = create_upload(owner.server, file_name="a.jpg", tags=["t"]).json()["image"]["id"]
    owner.server.delete(f"/api/v1/images/{image_id}")
    assert not ImageTag.objects.filter(image_id=image_id).exists()
    response = owner.server.get("/api/v1/images/?tag=t")
    assert response.json() == [] and response["X-Total-Count"] == "0"


def _count(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    return len(captured)


def test_tags_are_added_and_removed_and_the_index_follows(owner):
    image_id = create_upload(owner.server, file_name="a.jpg", tags=["one"]).json()["image"]["id"]
    response = owner.server.post(
        f"/api/v1/images/{image_id}/tags",
        {"add": ["two", "three"], "remove": ["one"]},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["tags"] == ["two", "three"]
    assert set(ImageTag.objects.filter(image_id=image_id).values_list("name", flat=True)) == {
        "two",
        "three",
    }
    bad = owner.server.post(f"/api/v1/images/{image_id}/tags", {"add": ["%"]}, format="json")
    assert bad.status_code == 422


def test_tags_of_another_environments_image_are_not_found_and_client_keys_may_not_edit(
    owner, outsider
):
    image_id = create_upload(owner.server, file_name="a.jpg").json()["image"]["id"]
    foreign = outsider.server.post(f"/api/v1/images/{image_id}/tags", {"add": ["x"]}, format="json")
    assert foreign.status_code == 404
    browser = owner.browser.post(f"/api/v1/images/{image_id}/tags", {"add": ["x"]}, format="json")
    assert browser.status_code in (401, 403)
    assert Image.objects.get(id=image_id).tags == []


def test_folders_are_listed_one_level_at_a_time(owner):
    create_upload(owner.server, file_name="a.jpg", folder="/a/b/c")
    create_upload(owner.server, file_name="b.jpg", folder="/a/d")
    root = owner.server.get("/api/v1/images/folders").json()
    assert root == {"parent": "/", "folders": ["/a"]}
    inside = owner.server.get("/api/v1/images/folders?parent=/a").json()
    assert inside["folders"] == ["/a/b", "/a/d"]
    assert owner.server.get("/api/v1/images/folders?parent=/..").status_code == 422


@pytest.mark.django_db(transaction=True)
def test_upload_via_url_takes_the_library_fields_too(owner, source_server, settings):
    settings.IMGWIRE_URL_FETCH_ALLOWED_NETWORKS = (ip_network("127.0.0.0/8"),)
    response = owner.server.post(
        "/api/v1/images/upload_via_url",
        {"url": source_server.url("/image.png"), "tags": ["remote"], "folder": "/fetched"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["tags"] == ["remote"]
    assert response.json()["folder"] == "/fetched"


def test_versions_of_an_image_that_was_never_overwritten_list_only_the_current_one(
    owner, stub_worker
):
    image_id = upload(owner.server, imagegen.jpeg(), "image/jpeg", "a.jpg")
    stub_worker()
    versions = owner.server.get(f"/api/v1/images/{image_id}/versions").json()
    assert [(v["name"], v["is_current"]) for v in versions] == [("Version 1", True)]


def claim(tenant, name="a.jpg", folder="/f"):
    from images.services.uploads import UploadRequest, image_create_standard_upload
    from keys.authentication import Access

    return image_create_standard_upload(
        access=Access(environment=tenant.environment),
        request=UploadRequest(file_name=name, folder=folder, claims_path=True),
    )[0]


def test_a_claimed_path_is_held_by_one_file_only(owner, outsider):
    from imgwire_site import domain
    from imgwire_site.domain import Refusal

    first = claim(owner)
    with pytest.raises(Refusal) as refused:
        claim(owner)  # as a concurrent upload would, past the path lookup
    assert refused.value.code == domain.CONFLICT
    assert claim(owner, folder="/g").id != first.id  # another folder
    assert claim(outsider).id != first.id  # another environment
    create_upload(owner.server, file_name="a.jpg", folder="/f")  # Imgwire uploads claim none
    assert Image.objects.filter(folder="/f", file_name="a.jpg").count() == 3


def test_a_deleted_or_quarantined_file_releases_its_path(owner):
    first = claim(owner)
    Image.objects.filter(id=first.id).update(status="QUARANTINE")
    second = claim(owner)
    owner.server.delete(f"/api/v1/images/{second.id}")
    assert claim(owner).id not in (first.id, second.id)
