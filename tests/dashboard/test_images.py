import json
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from images.models import Image, ImageDownloadJob, ImageStatus
from keys.models import ApiKey
from tests.dashboard.conftest import signed_in


def make_image(environment, name="photo.png", **fields) -> Image:
    defaults = {"extension": "png", "mime_type": "image/png", "status": ImageStatus.READY}
    return Image.objects.create(
        environment=environment, original_filename=name, **{**defaults, **fields}
    )


def test_the_grid_shows_thumbnails_through_the_dashboard_preview(owner, outsider):
    image = make_image(owner.environment)
    make_image(outsider.environment, name="secret.png")
    response = signed_in(owner.user).get(f"/dashboard/{owner.environment.id}/images/")
    preview = f"/dashboard/{owner.environment.id}/images/{image.id}/preview/?preset=thumbnail"
    assert preview.encode() in response.content
    assert b"secret.png" not in response.content


def test_the_grid_filters_by_name_status_and_purpose(owner):
    make_image(owner.environment, name="cat.png", purpose="avatar")
    make_image(owner.environment, name="dog.png", status=ImageStatus.PENDING)
    client = signed_in(owner.user)
    url = f"/dashboard/{owner.environment.id}/images/"
    names = lambda response: [i.original_filename for i in response.context["page"]]  # noqa: E731
    assert names(client.get(url, {"q": "CAT"})) == ["cat.png"]
    assert names(client.get(url, {"status": "PENDING"})) == ["dog.png"]
    assert names(client.get(url, {"purpose": "avatar"})) == ["cat.png"]
    assert names(client.get(url, {"created_from": "2000-01-01"})) == ["dog.png", "cat.png"]


def test_the_grid_runs_a_fixed_number_of_queries_and_paginates(owner):
    client = signed_in(owner.user)
    url = f"/dashboard/{owner.environment.id}/images/"
    make_image(owner.environment)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(30):
        make_image(owner.environment, name=f"{n}.png")
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    # 9: the copy-URL buttons carry CDN URLs, and cdn_url reads the environment's custom
    # domain (once for the page, not per image).
    assert len(few) == len(many) == 9
    assert len(response.context["page"]) == 24
    assert response.context["page"].paginator.num_pages == 2


def test_the_detail_page_shows_the_image_and_builds_a_delivery_url(owner):
    image = make_image(
        owner.environment,
        width=640,
        height=480,
        size_bytes=1234,
        exif_data={"Model": "Camera X"},
        custom_metadata={"sku": "A-1"},
        status=ImageStatus.QUARANTINE,
        status_reason="not a PNG",
    )
    client = signed_in(owner.user)
    url = f"/dashboard/{owner.environment.id}/images/{image.id}/"
    content = client.get(url).content
    for text in (
        b"640",
        b"480",
        b"1234",
        b"Camera X",
        b"A-1",
        b"not a PNG",
        image.cdn_url.encode(),
    ):
        assert text in content
    image.status = ImageStatus.READY
    image.save()
    response = client.get(url, {"width": "200", "format": "webp", "quality": ""})
    # Canonical order (sorted by name, Transform.__post_init__), whatever order the form sent.
    assert response.context["preview_url"] == f"{image.cdn_url}?format=webp&width=200"


def test_it_deletes_one_image(owner):
    image = make_image(owner.environment)
    response = signed_in(owner.user).post(
        f"/dashboard/{owner.environment.id}/images/{image.id}/delete/"
    )
    assert response.status_code == 302
    assert not Image.objects.for_environment(owner.environment).exists()


def test_a_developer_deletes_selected_images_in_bulk(owner, developer):
    images = [make_image(owner.environment, name=f"{n}.png") for n in range(3)]
    response = signed_in(developer).post(
        f"/dashboard/{owner.environment.id}/images/bulk/",
        {"ids": [images[0].id, images[1].id], "action": "delete"},
    )
    assert response.status_code == 302
    assert list(Image.objects.for_environment(owner.environment)) == [images[2]]


def test_bulk_delete_refuses_ids_of_another_environment_as_a_whole(owner, outsider):
    mine, theirs = make_image(owner.environment), make_image(outsider.environment)
    client = signed_in(owner.user)
    response = client.post(
        f"/dashboard/{owner.environment.id}/images/bulk/",
        {"ids": [mine.id, theirs.id], "action": "delete"},
        follow=True,
    )
    assert b"nothing was deleted" in response.content
    assert Image.objects.alive().count() == 2


def test_a_bulk_download_shows_progress_until_the_archive_is_ready(owner):
    image = make_image(owner.environment)
    client = signed_in(owner.user)
    response = client.post(
        f"/dashboard/{owner.environment.id}/images/bulk/", {"ids": [image.id], "action": "download"}
    )
    job = ImageDownloadJob.objects.get(environment=owner.environment)
    assert response.url == f"/dashboard/{owner.environment.id}/downloads/{job.id}/"
    assert b"Preparing the archive" in client.get(response.url).content
    status = json.loads(client.get(f"{response.url}status/").content)
    assert status == {"status": "PENDING", "download_url": None, "failure_reason": ""}


def test_a_bulk_download_of_images_not_ready_says_why(owner):
    image = make_image(owner.environment, status=ImageStatus.PENDING)
    response = signed_in(owner.user).post(
        f"/dashboard/{owner.environment.id}/images/bulk/",
        {"ids": [image.id], "action": "download"},
        follow=True,
    )
    assert b"only READY images can be downloaded" in response.content


def test_upload_credentials_give_a_client_key_that_needs_a_token_and_one_token(owner, developer):
    client = signed_in(developer)
    url = f"/dashboard/{owner.environment.id}/images/upload/credentials/"
    first = json.loads(client.post(url, {"count": "2"}).content)
    second = json.loads(client.post(url).content)
    assert first["client_key"] == second["client_key"]
    assert len(set(first["upload_tokens"] + second["upload_tokens"])) == 3
    key = ApiKey.objects.active().get(name="Dashboard uploader (dev@example.com)")
    assert key.allow_unsigned_upload is False
    browser = owner.client(first["client_key"])
    refused = browser.post("/api/v1/images/standard_upload", {"file_name": "a.png"}, format="json")
    assert refused.status_code == 401
    accepted = browser.post(
        f"/api/v1/images/standard_upload?upload_token={first['upload_tokens'][0]}",
        {"file_name": "a.png"},
        format="json",
    )
    assert accepted.status_code == 200


def test_a_new_session_mints_a_key_and_retires_uploader_keys_older_than_an_hour(owner):
    url = f"/dashboard/{owner.environment.id}/images/upload/credentials/"
    old = json.loads(signed_in(owner.user).post(url).content)["client_key"]
    recent = json.loads(signed_in(owner.user).post(url).content)["client_key"]
    assert old != recent
    uploaders = ApiKey.objects.active().filter(name__startswith="Dashboard uploader")
    assert uploaders.count() == 2  # an upload in another tab may still use the older one
    uploaders.update(created_at=timezone.now() - timedelta(hours=2))
    json.loads(signed_in(owner.user).post(url).content)
    assert uploaders.count() == 1


def test_upload_credentials_need_a_post(owner):
    url = f"/dashboard/{owner.environment.id}/images/upload/credentials/"
    assert signed_in(owner.user).get(url).status_code == 405
