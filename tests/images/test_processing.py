"""End to end through HTTP: create → PUT → worker → READY (or QUARANTINE with a reason)."""

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from images.models import Image
from tests import imagegen
from tests.corpus import CORPUS
from tests.uploads import create_upload, put_bytes, upload

pytestmark = pytest.mark.django_db(transaction=True)


def fetch(tenant, image_id):
    response = tenant.server.get(f"/api/v1/images/{image_id}")
    assert response.status_code == 200
    return response.json()


@pytest.mark.parametrize("mime", list(imagegen.ALL_FORMATS))
def test_every_accepted_format_becomes_ready_with_its_measurements(owner, stub_worker, mime):
    factory, width, height = imagegen.ALL_FORMATS[mime]
    data = factory()
    extension = {"image/vnd.microsoft.icon": "ico"}.get(mime, mime.split("/")[1])
    image_id = upload(owner.server, data, mime, f"sample.{extension}")
    stub_worker()
    image = fetch(owner, image_id)
    assert image["status"] == "READY", image
    assert (image["width"], image["height"]) == (width, height)
    assert image["size_bytes"] == len(data)
    assert image["hash_sha256"] == hashlib.sha256(data).hexdigest()
    assert image["processed_metadata_at"] is not None
    assert image["can_upload"] is False
    record = Image.objects.get(id=image_id)
    with default_storage.open(record.original_key) as stored:
        assert stored.read() == data
    assert not default_storage.exists(record.incoming_key)


def test_an_animated_gif_is_ready_and_recorded_as_animated(owner, stub_worker):
    data = imagegen.gif_animated(frames=3)
    image_id = upload(owner.server, data, "image/gif", "anim.gif")
    stub_worker()
    assert fetch(owner, image_id)["status"] == "READY"
    record = Image.objects.get(id=image_id)
    assert record.is_animated and record.frames == 3


def test_a_png_with_alpha_is_recorded_as_having_alpha(owner, stub_worker):
    image_id = upload(owner.server, imagegen.png_rgba(), "image/png", "alpha.png")
    stub_worker()
    assert Image.objects.get(id=image_id).has_alpha


def test_exif_is_extracted_without_gps(owner, stub_worker):
    image_id = upload(owner.server, imagegen.jpeg(exif_gps=True), "image/jpeg", "gps.jpg")
    stub_worker()
    exif = fetch(owner, image_id)["exif_data"]
    assert exif.get("Make")
    assert not any("GPS" in key for key in exif)


@pytest.mark.parametrize(
    ("data", "declared", "name", "reason"),
    [
        (imagegen.tiff, "image/png", "photo.png", "image/tiff"),
        (imagegen.png_rgba, "image/jpeg", "photo.jpg", "image/png"),
        (imagegen.truncated_jpeg, "image/jpeg", "cut.jpg", ""),
        (lambda: imagegen.png_huge_header(30000, 30000), "image/png", "huge.png", ""),
        (imagegen.gif_bomb, "image/gif", "bomb.gif", ""),
        (lambda: b"GIF89a not really", "image/gif", "fake.gif", ""),
    ],
    ids=["tiff-as-png", "png-as-jpeg", "truncated", "30000x30000", "gif-bomb", "garbage"],
)
def test_bad_bytes_are_quarantined_with_a_reason(owner, stub_worker, data, declared, name, reason):
    image_id = upload(owner.server, data(), declared, name)
    stub_worker()
    image = fetch(owner, image_id)
    assert image["status"] == "QUARANTINE"
    assert image["status_reason"]
    assert reason in image["status_reason"]
    record = Image.objects.get(id=image_id)
    assert not default_storage.exists(record.original_key)
    assert not default_storage.exists(record.incoming_key)


@pytest.mark.parametrize(
    ("file_name", "mime"),
    [
        ("exif-orientation-6.jpg", "image/jpeg"),
        ("example.heic", "image/heic"),
        ("cogs.gif", "image/gif"),
        ("sample.png", "image/png"),
        ("favicon.ico", "image/vnd.microsoft.icon"),
        ("1bit.tif", "image/tiff"),
        ("example.avif", "image/avif"),
    ],
)
def test_real_world_files_become_ready(owner, stub_worker, file_name, mime):
    data = (CORPUS / file_name).read_bytes()
    image_id = upload(owner.server, data, mime, file_name)
    stub_worker()
    assert fetch(owner, image_id)["status"] == "READY"


def test_processing_twice_changes_nothing(owner, stub_worker):
    from images.services.processing import image_process

    image_id = upload(owner.server, imagegen.jpeg(), "image/jpeg", "a.jpg")
    stub_worker()
    before = Image.objects.get(id=image_id)
    image_process(image_id)
    after = Image.objects.get(id=image_id)
    assert (before.status, before.updated_at, before.processing_attempts) == (
        after.status,
        after.updated_at,
        after.processing_attempts,
    )


def test_processing_a_deleted_image_is_harmless(owner, stub_worker):
    from images.services.processing import image_process

    created = create_upload(owner.server, file_name="a.jpg", mime_type="image/jpeg").json()
    data = imagegen.jpeg()
    # Bytes arrive, then the image is deleted before the worker runs.
    put_bytes(created["upload_url"], data, "image/jpeg")
    owner.server.delete(f"/api/v1/images/{created['image']['id']}")
    stub_worker()
    image_process(created["image"]["id"])
    record = Image.objects.get(id=created["image"]["id"])
    assert record.deleted_at is not None
    assert not default_storage.exists(record.original_key)
    assert not default_storage.exists(record.incoming_key)


def test_deleting_a_ready_image_removes_its_objects_after_commit(owner, stub_worker):
    image_id = upload(owner.server, imagegen.png_rgba(), "image/png", "a.png")
    stub_worker()
    record = Image.objects.get(id=image_id)
    assert default_storage.exists(record.original_key)
    response = owner.server.delete(f"/api/v1/images/{image_id}")
    assert response.status_code == 200
    stub_worker()
    assert not default_storage.exists(record.original_key)
    assert owner.server.get(f"/api/v1/images/{image_id}").status_code == 404
    # Repeating the delete is harmless.
    assert owner.server.delete(f"/api/v1/images/{image_id}").status_code == 200


def test_bulk_delete_removes_every_listed_image(owner, stub_worker):
    ids = [upload(owner.server, imagegen.png_rgba(), "image/png", f"{n}.png") for n in range(3)]
    stub_worker()
    response = owner.server.post(
        "/api/v1/images/bulk_delete", {"image_ids": ids[:2]}, format="json"
    )
    assert response.status_code == 200
    stub_worker()
    assert [i["id"] for i in owner.server.get("/api/v1/images/").json()] == [ids[2]]
    for image_id in ids[:2]:
        assert not default_storage.exists(Image.objects.get(id=image_id).original_key)


def test_an_interrupted_worker_leaves_the_image_reclaimable(owner, stub_worker, settings):
    """A PROCESSING claim older than the stale deadline is taken over by the next run."""
    from datetime import timedelta

    from django.utils import timezone

    from images.services.processing import image_process

    created = create_upload(owner.server, file_name="a.jpg").json()
    Image.objects.filter(id=created["image"]["id"]).update(status="PROCESSING")
    record = Image.objects.get(id=created["image"]["id"])
    data = imagegen.jpeg()
    default_storage.save(record.incoming_key, ContentFile(data))
    Image.objects.filter(id=record.id).update(
        bytes_received_at=timezone.now(),
        processing_started_at=timezone.now()
        - timedelta(seconds=settings.IMGWIRE_PROCESSING_STALE_SECONDS + 1),
        processing_attempts=1,
    )
    image_process(record.id)
    assert Image.objects.get(id=record.id).status == "READY"
