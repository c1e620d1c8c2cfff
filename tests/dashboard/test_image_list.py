"""The images page's list view, its sorting and the image page's way back to it."""

from datetime import UTC, datetime, timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from images.models import Image, ImageStatus
from tests.dashboard.conftest import signed_in
from tests.dashboard.test_images import make_image

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def images_url(environment) -> str:
    return f"/dashboard/{environment.id}/images/"


def names(response) -> list[str]:
    return [image.original_filename for image in response.context["page"]]


def three_images(environment) -> list[Image]:
    made = [
        make_image(environment, name="banana.png", size_bytes=300, width=30, height=20),
        make_image(environment, name="Apple.png", size_bytes=1000, width=10, height=10),
        make_image(environment, name="cherry.png", size_bytes=50, status=ImageStatus.PENDING),
    ]
    for hours, image in enumerate(made):
        Image.objects.filter(id=image.id).update(created_at=START + timedelta(hours=hours))
    return made


def test_the_list_view_shows_a_row_per_image_with_its_facts_download_and_url(owner):
    banana, _, cherry = three_images(owner.environment)
    response = signed_in(owner.user).get(images_url(owner.environment), {"view": "list"})
    text = response.content.decode()
    assert response.status_code == 200
    assert text.count('<tr data-status="') == 3
    assert "30 \u00d7 20 px" in text and "300 bytes" in text and "image/png" in text
    assert "1 Dec 2026, 09:00 UTC" in text
    original = f"/dashboard/{owner.environment.id}/images/{banana.id}/original/"
    assert f'href="{original}" aria-label="Download the original of banana.png"' in text
    banana.environment = owner.environment
    assert f'data-url="{banana.cdn_url}"' in text
    # An image that is not READY has neither: there is nothing to download or deliver.
    assert f"/images/{cherry.id}/original/" not in text
    assert 'aria-current="page">List<' in text


def test_the_grid_and_the_list_run_the_same_fixed_number_of_queries(owner):
    client = signed_in(owner.user)
    make_image(owner.environment)
    counts = []
    for view in ("grid", "list"):
        # The second visit: the first one remembers the page for the way back (a write).
        client.get(images_url(owner.environment), {"view": view})
        with CaptureQueriesContext(connection) as queries:
            client.get(images_url(owner.environment), {"view": view})
        counts.append(len(queries))
    for n in range(30):
        make_image(owner.environment, name=f"{n}.png")
    with CaptureQueriesContext(connection) as many:
        client.get(images_url(owner.environment), {"view": "list"})
    assert counts == [9, 9]
    assert len(many) == 9


def test_images_sort_by_date_name_and_size_whichever_the_view(owner):
    three_images(owner.environment)
    client = signed_in(owner.user)
    url = images_url(owner.environment)
    assert names(client.get(url)) == ["cherry.png", "Apple.png", "banana.png"]
    assert names(client.get(url, {"sort": "oldest"})) == ["banana.png", "Apple.png", "cherry.png"]
    # By name without regard to case, as people read a list of names.
    assert names(client.get(url, {"sort": "name", "view": "list"})) == [
        "Apple.png",
        "banana.png",
        "cherry.png",
    ]
    assert names(client.get(url, {"sort": "name_desc"})) == [
        "cherry.png",
        "banana.png",
        "Apple.png",
    ]
    assert names(client.get(url, {"sort": "largest"})) == ["Apple.png", "banana.png", "cherry.png"]
    assert names(client.get(url, {"sort": "smallest"})) == ["cherry.png", "banana.png", "Apple.png"]


def test_a_sort_or_view_that_does_not_exist_is_named_and_the_rest_still_applies(owner):
    three_images(owner.environment)
    client = signed_in(owner.user)
    response = client.get(images_url(owner.environment), {"sort": "colour", "q": "an"})
    assert response.status_code == 400
    assert "Sort by \u201ccolour\u201d was ignored" in response.content.decode()
    assert names(response) == ["banana.png"]
    response = client.get(images_url(owner.environment), {"view": "table<script>"})
    text = response.content.decode()
    assert response.status_code == 400
    assert "View \u201ctable&lt;script&gt;\u201d was ignored: it is grid or list." in text
    assert "<script>" not in text.split("</h1>")[1].split("image_list.js")[0]
    assert 'aria-current="page">Grid<' in text


def test_sorting_keeps_one_order_across_pages_when_the_keys_are_equal(owner):
    for _ in range(30):
        make_image(owner.environment, name="same.png", size_bytes=5)
    client = signed_in(owner.user)
    url = images_url(owner.environment)
    for sort in ("name", "largest"):
        first = [i.id for i in client.get(url, {"sort": sort}).context["page"]]
        second = [i.id for i in client.get(url, {"sort": sort, "page": 2}).context["page"]]
        assert len(set(first + second)) == 30


def test_the_image_page_leads_back_to_the_list_as_it_was_left(owner):
    image = make_image(owner.environment)
    client = signed_in(owner.user)
    query = {"view": "list", "sort": "name", "status": "READY", "page": "1"}
    client.get(images_url(owner.environment), query)
    text = client.get(f"{images_url(owner.environment)}{image.id}/").content.decode()
    assert (
        f'href="{images_url(owner.environment)}?view=list&amp;sort=name&amp;status=READY'
        '&amp;page=1">&larr; Back to images' in text
    )


def test_browsing_the_same_images_page_again_writes_nothing_to_the_session(owner):
    client = signed_in(owner.user)
    url = images_url(owner.environment)
    assert client.get(url, {"view": "list"}).wsgi_request.session.modified
    assert not client.get(url, {"view": "list"}).wsgi_request.session.modified
    assert client.get(url, {"view": "grid"}).wsgi_request.session.modified


def test_the_way_back_is_per_environment_and_ignores_an_outsized_query(owner):
    client = signed_in(owner.user)
    url = images_url(owner.environment)
    client.get(url, {"sort": "oldest"})
    client.get(url, {"q": "x" * 3000})
    assert client.session["dashboard_images_back"] == {str(owner.environment.id): "sort=oldest"}
