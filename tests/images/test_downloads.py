"""Bulk zip downloads through the API, opened and compared byte for byte."""

import io
import uuid
import zipfile
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from rest_framework.test import APIClient

from images.models import ImageDownloadJob
from images.services.maintenance import reconcile
from tests import imagegen
from tests.openapi import assert_matches
from tests.uploads import create_upload, upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def ready_images(owner, stub_worker):
    files = [
        (imagegen.jpeg(), "image/jpeg", "holiday.jpg"),
        (imagegen.png_rgba(), "image/png", "holiday.JPG.png"),
        (imagegen.webp(), "image/webp", "../../etc/passwd.webp"),
        (imagegen.jpeg(width=10, height=10), "image/jpeg", "holiday.jpg"),
    ]
    ids = [upload(owner.server, data, mime, name) for data, mime, name in files]
    stub_worker()
    return ids, [data for data, _, _ in files]


def request_download(tenant, ids):
    return tenant.server.post("/api/v1/images/downloads", {"image_ids": ids}, format="json")


def fetch_archive(url: str) -> zipfile.ZipFile:
    parts = urlsplit(url)
    response = APIClient().get(f"{parts.path}?{parts.query}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def test_a_download_goes_from_pending_to_ready_with_every_original_inside(
    owner, ready_images, stub_worker
):
    ids, originals = ready_images
    created = request_download(owner, ids)
    assert created.status_code == 200
    assert created.json()["status"] == "PENDING"
    assert created.json()["download_url"] is None
    assert_matches(created.json(), "ImageDownloadJobSchema")
    stub_worker()
    job = owner.server.get(f"/api/v1/images/downloads/{created.json()['id']}").json()
    assert_matches(job, "ImageDownloadJobSchema")
    assert job["status"] == "READY"
    assert job["image_ids"] == ids
    archive = fetch_archive(job["download_url"])
    assert archive.testzip() is None
    names = archive.namelist()
    assert names == ["holiday.jpg", "holiday.JPG.png", "passwd.webp", "holiday (2).jpg"]
    for info, original in zip(archive.infolist(), originals, strict=True):
        assert info.compress_type == zipfile.ZIP_STORED
        assert archive.read(info) == original


def test_ids_from_another_environment_refuse_the_whole_request(owner, outsider, ready_images):
    ids, _ = ready_images
    theirs = create_upload(outsider.server).json()["image"]["id"]
    response = request_download(owner, [ids[0], theirs])
    assert response.status_code == 404
    assert ImageDownloadJob.objects.count() == 0


def test_images_that_are_not_ready_are_refused(owner, ready_images):
    ids, _ = ready_images
    pending = create_upload(owner.server).json()["image"]["id"]
    response = request_download(owner, [ids[0], pending])
    assert response.status_code == 422
    assert f"{pending} is PENDING" in response.json()["detail"][0]["msg"]


def test_the_size_limit_is_enforced_with_a_clear_422(owner, ready_images, settings):
    ids, _ = ready_images
    settings.IMGWIRE_DOWNLOAD_MAX_BYTES = 100
    response = request_download(owner, ids)
    assert response.status_code == 422
    assert "at most 100 bytes" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize("count", [0, 1001])
def test_the_id_count_is_bounded(owner, count):
    response = request_download(owner, [str(uuid.uuid4()) for _ in range(count)])
    assert response.status_code == 422


def test_client_keys_and_other_environments_cannot_see_jobs(owner, outsider, ready_images):
    ids, _ = ready_images
    job_id = request_download(owner, ids[:1]).json()["id"]
    assert owner.browser.get(f"/api/v1/images/downloads/{job_id}").status_code == 403
    assert (
        owner.browser.post(
            "/api/v1/images/downloads", {"image_ids": ids[:1]}, format="json"
        ).status_code
        == 403
    )
    assert outsider.server.get(f"/api/v1/images/downloads/{job_id}").status_code == 404
    assert owner.client().get(f"/api/v1/images/downloads/{job_id}").status_code == 401


def test_images_deleted_before_the_build_fail_the_job_with_a_reason(
    owner, ready_images, stub_worker
):
    from imgwire_site.broker import broker

    ids, _ = ready_images
    job_id = request_download(owner, ids).json()["id"]
    broker.flush_all()  # hold the build until after the delete
    owner.server.delete(f"/api/v1/images/{ids[1]}")
    from images.services.downloads import download_job_build

    download_job_build(job_id)
    job = owner.server.get(f"/api/v1/images/downloads/{job_id}").json()
    assert job["status"] == "FAILED"
    assert "deleted" in job["failure_reason"]


def test_archives_expire_and_are_removed(owner, ready_images, stub_worker):
    ids, _ = ready_images
    job_id = request_download(owner, ids).json()["id"]
    stub_worker()
    job = ImageDownloadJob.objects.get(id=job_id)
    assert default_storage.exists(job.archive_key)
    ImageDownloadJob.objects.filter(id=job_id).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert reconcile().downloads_expired == 1
    assert not default_storage.exists(job.archive_key)
    assert owner.server.get(f"/api/v1/images/downloads/{job_id}").status_code == 404


def test_a_tampered_download_link_is_refused(owner, ready_images, stub_worker):
    ids, _ = ready_images
    job_id = request_download(owner, ids[:1]).json()["id"]
    stub_worker()
    url = owner.server.get(f"/api/v1/images/downloads/{job_id}").json()["download_url"]
    parts = urlsplit(url)
    response = APIClient().get(f"{parts.path}?{parts.query[:-2]}xx")
    assert response.status_code == 403


def test_building_twice_changes_nothing(owner, ready_images, stub_worker):
    from images.services.downloads import download_job_build

    ids, _ = ready_images
    job_id = request_download(owner, ids).json()["id"]
    stub_worker()
    before = ImageDownloadJob.objects.get(id=job_id)
    download_job_build(job_id)
    after = ImageDownloadJob.objects.get(id=job_id)
    assert (before.status, before.updated_at) == (after.status, after.updated_at)
