"""The reconciler heals lost messages, dead workers, abandoned uploads and orphaned objects."""

import threading
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from images.models import Image, original_key
from images.services.maintenance import reconcile
from tests import imagegen
from tests.uploads import create_upload

pytestmark = pytest.mark.django_db(transaction=True)


def uploaded_without_message(tenant, data=None):
    """An upload whose bytes arrived but whose processing message was lost (written straight
    to storage, so no message exists for a running worker to pick up)."""
    data = data or imagegen.jpeg()
    created = create_upload(tenant.server, file_name="a.jpg", content_length=len(data)).json()
    image = Image.objects.get(id=created["image"]["id"])
    default_storage.save(image.incoming_key, ContentFile(data))
    Image.objects.filter(id=image.id).update(bytes_received_at=timezone.now())
    return image


def test_an_upload_whose_message_was_lost_is_requeued_and_becomes_ready(owner, stub_worker):
    image = uploaded_without_message(owner)
    Image.objects.filter(id=image.id).update(
        bytes_received_at=timezone.now() - timedelta(minutes=5)
    )
    assert reconcile().requeued == 1
    stub_worker()
    assert Image.objects.get(id=image.id).status == "READY"


def test_a_recent_upload_is_left_to_its_own_message(owner, stub_worker):
    uploaded_without_message(owner)
    assert reconcile().requeued == 0


def test_an_image_abandoned_in_processing_is_taken_over(owner, stub_worker, settings):
    image = uploaded_without_message(owner)
    Image.objects.filter(id=image.id).update(
        status="PROCESSING",
        processing_started_at=timezone.now()
        - timedelta(seconds=settings.IMGWIRE_PROCESSING_STALE_SECONDS + 1),
        processing_attempts=1,
    )
    assert reconcile().requeued == 1
    stub_worker()
    image.refresh_from_db()
    assert image.status == "READY"
    assert image.processing_attempts == 2


def test_two_reconcilers_at_once_process_each_image_once(owner, stub_worker):
    image = uploaded_without_message(owner)
    Image.objects.filter(id=image.id).update(
        bytes_received_at=timezone.now() - timedelta(minutes=5)
    )
    threads = [threading.Thread(target=reconcile) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stub_worker()
    image.refresh_from_db()
    assert image.status == "READY"
    assert image.processing_attempts == 1


def test_uploads_that_never_received_bytes_expire_with_their_partial_objects(owner, settings):
    old = create_upload(owner.server).json()["image"]["id"]
    fresh = create_upload(owner.server).json()["image"]["id"]
    record = Image.objects.get(id=old)
    default_storage.save(record.incoming_key, ContentFile(b"partial"))
    Image.objects.filter(id=old).update(
        created_at=timezone.now() - timedelta(seconds=settings.IMGWIRE_ABANDONED_UPLOAD_SECONDS + 1)
    )
    assert reconcile().expired == 1
    assert not Image.objects.filter(id=old).exists()
    assert Image.objects.filter(id=fresh).exists()
    assert not default_storage.exists(record.incoming_key)


def test_an_upload_in_flight_is_not_expired(owner, settings):
    image_id = create_upload(owner.server).json()["image"]["id"]
    Image.objects.filter(id=image_id).update(
        created_at=timezone.now()
        - timedelta(seconds=settings.IMGWIRE_ABANDONED_UPLOAD_SECONDS + 1),
        ingest_started_at=timezone.now(),
    )
    assert reconcile().expired == 0


def test_orphaned_objects_are_removed_and_needed_ones_kept(owner, stub_worker):
    from tests.uploads import upload

    ready = upload(owner.server, imagegen.png_rgba(), "image/png", "a.png")
    pending = create_upload(owner.server).json()["image"]["id"]
    stub_worker()
    env = owner.environment.id
    orphan = "00000000-0000-4000-8000-000000000001"
    keep_unrelated = f"originals/{env}/README"
    for key in (
        original_key(env, orphan),
        f"incoming/{env}/{orphan}",
        f"incoming/{env}/{ready}",  # a leftover for an image that is already READY
        f"incoming/{env}/{pending}",  # an upload still waiting: needed
        keep_unrelated,
    ):
        default_storage.save(key, ContentFile(b"x"))
    assert reconcile().orphans_removed == 3
    assert default_storage.exists(original_key(env, ready))
    assert default_storage.exists(f"incoming/{env}/{pending}")
    assert default_storage.exists(keep_unrelated)
    assert not default_storage.exists(original_key(env, orphan))
    assert not default_storage.exists(f"incoming/{env}/{ready}")


def test_the_reconcile_command_prints_what_it_did(capsys):
    call_command("reconcile")
    assert '"requeued": 0' in capsys.readouterr().out
