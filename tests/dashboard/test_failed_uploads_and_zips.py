"""Issue #15: a failed upload leaves no ghost, and a zip of a mixed selection leaves out
what is not READY, names it, and keeps the selection."""

from images.models import Image, ImageDownloadJob, ImageStatus
from tests.dashboard.conftest import signed_in
from tests.dashboard.test_images import make_image
from tests.uploads import create_upload


def _uploads_this_period(owner) -> int:
    from environments.quotas import quota_period_of, upload_usage

    organization = owner.organization
    return upload_usage(organization, quota_period_of(organization), ("uploads",))["uploads"]


def test_discarding_a_failed_upload_removes_the_record_and_it_no_longer_counts(owner, developer):
    created = create_upload(owner.server, file_name="ghost.jpg", content_length=10)
    image_id = created.json()["image"]["id"]
    assert _uploads_this_period(owner) == 1
    response = signed_in(developer).post(
        f"/dashboard/{owner.environment.id}/images/{image_id}/discard/"
    )
    assert response.status_code == 200
    assert response.json() == {"id": image_id, "status": "discarded"}
    assert not Image.objects.filter(id=image_id).exists()
    assert _uploads_this_period(owner) == 0


def test_discarding_keeps_an_image_whose_bytes_arrived(owner):
    image = make_image(owner.environment, status=ImageStatus.READY)
    response = signed_in(owner.user).post(
        f"/dashboard/{owner.environment.id}/images/{image.id}/discard/"
    )
    assert response.status_code == 409
    assert "was kept" in response.json()["detail"]
    assert Image.objects.alive().filter(id=image.id).exists()


def test_discarding_an_image_of_another_environment_is_a_404(owner, outsider):
    theirs = make_image(outsider.environment, status=ImageStatus.PENDING)
    client = signed_in(owner.user)
    response = client.post(f"/dashboard/{owner.environment.id}/images/{theirs.id}/discard/")
    assert response.status_code == 404
    assert (
        client.post(f"/dashboard/{outsider.environment.id}/images/{theirs.id}/discard/").status_code
        == 404
    )
    assert Image.objects.filter(id=theirs.id).exists()


def test_discarding_needs_a_post(owner):
    image = make_image(owner.environment, status=ImageStatus.PENDING)
    url = f"/dashboard/{owner.environment.id}/images/{image.id}/discard/"
    assert signed_in(owner.user).get(url).status_code == 405


def test_the_uploader_discards_the_record_when_its_put_fails(owner):
    page = signed_in(owner.user).get(f"/dashboard/{owner.environment.id}/images/upload/")
    assert b'"/discard/"' in page.content
    assert b"Nothing was kept" in page.content


def test_the_grid_marks_an_upload_that_never_got_its_bytes(owner):
    make_image(owner.environment, name="ghost.jpg", status=ImageStatus.PENDING)
    content = signed_in(owner.user).get(f"/dashboard/{owner.environment.id}/images/").content
    assert b"upload not finished" in content
    assert b"unless its bytes arrive" in content


def test_a_zip_of_a_mixed_selection_leaves_out_what_is_not_ready_and_names_it(owner):
    ready = make_image(owner.environment, name="ready.png")
    pending = make_image(owner.environment, name="half.png", status=ImageStatus.PENDING)
    quarantined = make_image(owner.environment, name="bad.png", status=ImageStatus.QUARANTINE)
    client = signed_in(owner.user)
    response = client.post(
        f"/dashboard/{owner.environment.id}/images/bulk/",
        {"ids": [pending.id, ready.id, quarantined.id], "action": "download"},
        follow=True,
    )
    job = ImageDownloadJob.objects.get(environment=owner.environment)
    assert job.image_ids == [str(ready.id)]
    assert (
        response.redirect_chain[-1][0] == f"/dashboard/{owner.environment.id}/downloads/{job.id}/"
    )
    text = response.content.decode()
    assert "2 of the 3 selected images are not READY" in text
    assert "half.png (PENDING)" in text and "bad.png (QUARANTINE)" in text
    grid = client.get(f"/dashboard/{owner.environment.id}/images/").content.decode()
    for image in (ready, pending, quarantined):
        assert f'value="{image.id}" checked' in grid


def test_a_zip_of_only_unready_images_keeps_the_selection_and_the_filters(owner):
    pending = make_image(owner.environment, name="half.png", status=ImageStatus.PENDING)
    other = make_image(owner.environment, name="other.png", status=ImageStatus.PENDING)
    client = signed_in(owner.user)
    response = client.post(
        f"/dashboard/{owner.environment.id}/images/bulk/",
        {"ids": [pending.id], "action": "download", "back": "q=half&status=PENDING"},
    )
    assert response.url == f"/dashboard/{owner.environment.id}/images/?q=half&status=PENDING"
    grid = client.get(response.url)
    text = grid.content.decode()
    assert "None of the selected images can be downloaded yet: half.png (PENDING)" in text
    assert f'value="{pending.id}" checked' in text
    assert f'value="{other.id}"' not in text  # the filter came back too
    assert not ImageDownloadJob.objects.exists()
    again = client.get(f"/dashboard/{owner.environment.id}/images/").content.decode()
    assert f'value="{pending.id}" checked' not in again  # the kept selection is shown once


def test_a_zip_with_an_image_of_another_environment_is_still_refused_whole(owner, outsider):
    mine, theirs = make_image(owner.environment), make_image(outsider.environment)
    response = signed_in(owner.user).post(
        f"/dashboard/{owner.environment.id}/images/bulk/",
        {"ids": [mine.id, theirs.id], "action": "download"},
        follow=True,
    )
    assert b"no download was created" in response.content
    assert not ImageDownloadJob.objects.exists()
