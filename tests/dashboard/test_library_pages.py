"""The library in the dashboard: tags, folders, the private flag and versions
(images/views_library.py, docs/library.md); signed URLs are the URL builder's."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from images.models import Folder, Image, ImageStatus, ImageVersion
from images.services.library import folder_ensure, image_tags_update
from tests.dashboard.conftest import signed_in

pytestmark = pytest.mark.django_db


def make_image(environment, name="photo.png", **fields) -> Image:
    defaults = {"extension": "png", "mime_type": "image/png", "status": ImageStatus.READY}
    return Image.objects.create(
        environment=environment, original_filename=name, **{**defaults, **fields}
    )


def page_of(environment, image) -> str:
    return f"/dashboard/{environment.id}/images/{image.id}/"


def shown_messages(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- the image page ------------------------------------------------------------------


def test_the_image_page_shows_the_path_tags_visibility_and_every_version(owner):
    image = make_image(
        owner.environment, folder="/shop/shoes", file_name="red.png", size_bytes=2048, version=3
    )
    image_tags_update(environment=owner.environment, image_id=image.id, add=["summer", "red"])
    for number in (1, 2):
        ImageVersion.objects.create(
            image=image,
            number=number,
            version_id=image.version_id,
            mime_type="image/png",
            size_bytes=1000 * number,
            storage_key=f"versions/{number}",
            created_at=timezone.now(),
        )
    response = signed_in(owner.user).get(page_of(owner.environment, image))
    content = response.content.decode()
    assert response.status_code == 200
    assert "/shop/shoes/red.png" in content
    assert "?tag=summer" in content and "?tag=red" in content
    assert "Make private" in content
    rows = re.findall(r"<td data-label=\"Version\">(Version \d)", content)
    assert rows == ["Version 3", "Version 2", "Version 1"]
    assert re.search(r"Version 3 <span[^>]*>current</span>", content)


def test_a_member_adds_several_tags_at_once_and_removes_one(owner):
    image = make_image(owner.environment)
    client = signed_in(owner.user)
    url = page_of(owner.environment, image)
    added = client.post(url + "tags/", {"add": "red, summer,red"}, follow=True)
    assert added.status_code == 200
    assert shown_messages(added) == ["Tags saved: red, summer."]
    client.post(url + "tags/", {"remove": "red"})
    image.refresh_from_db()
    assert image.tags == ["summer"]
    assert list(image.tag_rows.values_list("name", flat=True)) == ["summer"]


@pytest.mark.parametrize(
    ("add", "said"),
    [
        ("50%", "character tags cannot hold"),
        ("x" * 101, "at most 100 characters"),
        ("", "Enter a tag to add"),
    ],
)
def test_a_tag_that_cannot_be_stored_shows_the_page_with_a_sentence(owner, add, said):
    image = make_image(owner.environment, tags=[])
    response = signed_in(owner.user).post(
        page_of(owner.environment, image) + "tags/", {"add": add}, follow=True
    )
    assert response.status_code == 200
    assert any(said in message for message in shown_messages(response))
    image.refresh_from_db()
    assert image.tags == []


def test_a_member_moves_an_image_into_a_new_folder(owner):
    image = make_image(owner.environment)
    response = signed_in(owner.user).post(
        page_of(owner.environment, image) + "move/", {"folder": "shop/shoes/"}, follow=True
    )
    image.refresh_from_db()
    assert image.folder == "/shop/shoes"
    assert shown_messages(response) == ["photo.png is now at /shop/shoes/photo.png."]
    assert Folder.objects.filter(environment=owner.environment, path="/shop").exists()


@pytest.mark.parametrize(
    ("folder", "said"),
    [("/a/../b", "is not allowed"), ("/" + "/".join(["f"] * 51), "at most 50 levels")],
)
def test_a_folder_that_cannot_be_stored_shows_the_page_with_a_sentence(owner, folder, said):
    image = make_image(owner.environment)
    response = signed_in(owner.user).post(
        page_of(owner.environment, image) + "move/", {"folder": folder}, follow=True
    )
    assert response.status_code == 200
    assert any(said in message for message in shown_messages(response))
    image.refresh_from_db()
    assert image.folder == "/"


def test_moving_a_file_onto_a_path_another_file_holds_says_so(owner):
    make_image(owner.environment, folder="/b", file_name="red.png", claims_path=True)
    image = make_image(owner.environment, folder="/a", file_name="red.png", claims_path=True)
    response = signed_in(owner.user).post(
        page_of(owner.environment, image) + "move/", {"folder": "/b"}, follow=True
    )
    assert response.status_code == 200
    assert any("/b/red.png is already the path" in m for m in shown_messages(response))
    image.refresh_from_db()
    assert image.folder == "/a"


def test_a_member_makes_an_image_private_and_public_again(owner):
    image = make_image(owner.environment)
    client = signed_in(owner.user)
    url = page_of(owner.environment, image) + "privacy/"
    made_private = client.post(url, {"is_private": "true"}, follow=True)
    image.refresh_from_db()
    assert image.is_private is True
    assert "Make public" in made_private.content.decode()
    assert "stay until they are purged" in shown_messages(made_private)[0]
    client.post(url, {"is_private": "false"})
    image.refresh_from_db()
    assert image.is_private is False


def test_a_privacy_value_other_than_true_or_false_changes_nothing(owner):
    image = make_image(owner.environment)
    response = signed_in(owner.user).post(
        page_of(owner.environment, image) + "privacy/", {"is_private": "maybe"}, follow=True
    )
    assert shown_messages(response) == ["Choose private or public."]
    image.refresh_from_db()
    assert image.is_private is False


# --- who may -------------------------------------------------------------------------

ACTIONS = [
    ("tags/", {"add": "red"}),
    ("move/", {"folder": "/a"}),
    ("privacy/", {"is_private": "true"}),
]


def test_a_developer_may_tag_move_and_hide_as_they_may_delete(owner, developer):
    image = make_image(owner.environment)
    client = signed_in(developer)
    for action, fields in ACTIONS:
        response = client.post(page_of(owner.environment, image) + action, fields)
        assert response.status_code in (200, 302), action
    image.refresh_from_db()
    assert (image.tags, image.folder, image.is_private) == (["red"], "/a", True)


@pytest.mark.parametrize(("action", "fields"), ACTIONS)
def test_another_environments_image_is_not_found(owner, outsider, action, fields):
    foreign = make_image(outsider.environment)
    # Through the member's own environment, and through one they do not belong to.
    mine = f"/dashboard/{owner.environment.id}/images/{foreign.id}/{action}"
    theirs = page_of(outsider.environment, foreign) + action
    assert signed_in(owner.user).post(mine, fields).status_code == 404
    assert signed_in(owner.user).post(theirs, fields).status_code == 404
    foreign.refresh_from_db()
    assert (foreign.tags, foreign.folder, foreign.is_private) == ([], "/", False)


@pytest.mark.parametrize(("action", "fields"), ACTIONS)
def test_the_actions_need_a_signed_in_member_and_a_post(owner, action, fields):
    image = make_image(owner.environment)
    url = page_of(owner.environment, image) + action
    anonymous = Client().post(url, fields)
    assert anonymous.status_code == 302 and "/login" in anonymous["Location"]
    assert signed_in(owner.user).get(url).status_code == 405


# --- the grid ------------------------------------------------------------------------


def grid(client, environment, **params):
    return client.get(f"/dashboard/{environment.id}/images/", params)


def names(response) -> list[str]:
    return [image.original_filename for image in response.context["page"]]


def test_the_grid_filters_by_tag_and_keeps_the_other_filters(owner, outsider):
    red = make_image(owner.environment, name="red.png", purpose="avatar")
    make_image(owner.environment, name="blue.png", purpose="avatar")
    other = make_image(owner.environment, name="red-banner.png", purpose="banner")
    foreign = make_image(outsider.environment, name="foreign.png")
    for image, environment in ((red, owner), (other, owner), (foreign, outsider)):
        image_tags_update(environment=environment.environment, image_id=image.id, add=["red"])
    client = signed_in(owner.user)
    assert names(grid(client, owner.environment, tag="red")) == ["red-banner.png", "red.png"]
    response = grid(client, owner.environment, tag="red", purpose="avatar")
    assert names(response) == ["red.png"]
    assert b'<input type="hidden" name="purpose" value="avatar">' in response.content


def test_the_grid_browses_folders_with_a_breadcrumb(owner):
    for path in ("/shop/shoes", "/shop/hats", "/shop/shoes/kids", "/archive"):
        folder_ensure(environment=owner.environment, path=path)
    make_image(owner.environment, name="root.png")
    make_image(owner.environment, name="shop.png", folder="/shop")
    make_image(owner.environment, name="shoe.png", folder="/shop/shoes")
    client = signed_in(owner.user)
    root = grid(client, owner.environment, folder="/")
    assert names(root) == ["root.png"]
    assert root.context["library_children"] == [("/archive", "archive"), ("/shop", "shop")]
    shop = grid(client, owner.environment, folder="shop/")
    assert names(shop) == ["shop.png"]
    assert shop.context["library_crumbs"] == [("/shop", "shop")]
    assert shop.context["library_children"] == [("/shop/hats", "hats"), ("/shop/shoes", "shoes")]
    shoes = grid(client, owner.environment, folder="/shop/shoes")
    assert shoes.context["library_crumbs"] == [("/shop", "shop"), ("/shop/shoes", "shoes")]
    assert b'aria-current="page">shoes</a>' in shoes.content
    assert b"folder=%2Fshop%2Fshoes%2Fkids" in shoes.content


def test_the_plain_grid_offers_to_browse_folders_and_lists_none(owner):
    folder_ensure(environment=owner.environment, path="/shop")
    response = grid(signed_in(owner.user), owner.environment)
    assert b"Browse folders" in response.content
    assert response.context["library_children"] == []


@pytest.mark.parametrize(
    ("params", "said"),
    [({"tag": "50%"}, "Tag \u201c50%\u201d was ignored"), ({"folder": "/a/.."}, "Folder")],
)
def test_a_library_filter_that_cannot_apply_is_named_and_the_rest_still_applies(
    owner, params, said
):
    make_image(owner.environment, name="cat.png")
    make_image(owner.environment, name="dog.png")
    response = grid(signed_in(owner.user), owner.environment, q="cat", **params)
    assert response.status_code == 400
    assert any(problem.startswith(said) for problem in response.context["problems"])
    assert names(response) == ["cat.png"]


def test_private_images_carry_a_lock_in_the_grid(owner):
    make_image(owner.environment, name="open.png")
    make_image(owner.environment, name="hidden.png", is_private=True)
    content = grid(signed_in(owner.user), owner.environment).content.decode()
    items = re.findall(r"<li data-status=.*?</li>", content, re.S)
    locked = [item for item in items if "badge private" in item]
    assert len(items) == 2 and len(locked) == 1
    assert "hidden.png" in locked[0]


@pytest.mark.parametrize("params", [{"tag": "red"}, {"folder": "/shop"}])
def test_a_library_filter_runs_a_fixed_number_of_queries(owner, params):
    client = signed_in(owner.user)
    folder_ensure(environment=owner.environment, path="/shop")

    def add(name):
        image = make_image(owner.environment, name=name, folder="/shop")
        image_tags_update(environment=owner.environment, image_id=image.id, add=["red"])

    add("first.png")
    grid(client, owner.environment, **params)
    with CaptureQueriesContext(connection) as few:
        grid(client, owner.environment, **params)
    for n in range(30):
        add(f"{n}.png")
    with CaptureQueriesContext(connection) as many:
        response = grid(client, owner.environment, **params)
    assert len(few) == len(many) <= 10  # the plain grid's 9, and the folder list when browsing
    assert len(response.context["page"]) == 24


def test_the_image_page_runs_as_many_queries_with_many_versions_as_with_none(owner):
    image = make_image(owner.environment, tags=["a", "b", "c"])
    client = signed_in(owner.user)
    client.get(page_of(owner.environment, image))
    with CaptureQueriesContext(connection) as none:
        client.get(page_of(owner.environment, image))
    for number in range(1, 6):
        ImageVersion.objects.create(
            image=image,
            number=number,
            version_id=image.version_id,
            mime_type="image/png",
            storage_key=f"versions/{number}",
            created_at=timezone.now(),
        )
    with CaptureQueriesContext(connection) as many:
        response = client.get(page_of(owner.environment, image))
    assert len(none) == len(many)
    assert response.content.count(b'<td data-label="Version">Version ') == 6
