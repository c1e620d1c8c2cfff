"""The reconciler removes rendered variants and zip archives nothing needs any more."""

import uuid
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from images.models import Image, ImageDownloadJob, variants_prefix
from images.services.maintenance import (
    archives_remove_orphans,
    reconcile,
    variants_remove_orphans,
)
from tests import imagegen
from tests.uploads import upload

pytestmark = pytest.mark.django_db(transaction=True)


def put(key: str) -> str:
    default_storage.save(key, ContentFile(b"x"))
    return key


def variant_of(environment_id, image_id, name="w200.webp") -> str:
    return put(f"{variants_prefix(environment_id, image_id)}{name}")


def test_variants_of_deleted_and_vanished_images_are_removed_and_live_ones_kept(owner, stub_worker):
    env = owner.environment.id
    ready = upload(owner.server, imagegen.jpeg(), "image/jpeg", "a.jpg")
    deleted = upload(owner.server, imagegen.jpeg(), "image/jpeg", "b.jpg")
    stub_worker()
    kept = [variant_of(env, ready), variant_of(env, ready, "intermediate")]
    # A delete whose purge never ran, and a row removed outside the images service.
    Image.objects.filter(id=deleted).update(deleted_at=timezone.now())
    vanished = uuid.uuid4()
    removed = [variant_of(env, deleted), variant_of(env, vanished), variant_of(env, vanished, "x")]
    not_ours = put(f"variants/{env}/not-an-image/w200.webp")

    assert reconcile().variants_removed == 2
    assert all(default_storage.exists(key) for key in [*kept, not_ours])
    assert not any(default_storage.exists(key) for key in removed)


def test_archives_whose_job_is_gone_are_removed_and_live_ones_kept(owner):
    env = owner.environment.id
    job = ImageDownloadJob.objects.create(
        environment=owner.environment, expires_at=timezone.now() + timedelta(hours=1)
    )
    kept = [
        put(job.archive_key),
        put(f"downloads/{env}/.writing-abc123"),  # an archive being written
        put(f"downloads/{env}/notes.txt"),
    ]
    orphan = put(f"downloads/{env}/{uuid.uuid4()}.zip")

    assert reconcile().archives_removed == 1
    assert all(default_storage.exists(key) for key in kept)
    assert not default_storage.exists(orphan)


def test_an_archive_whose_job_is_deleted_is_removed_at_the_next_tick(owner):
    job = ImageDownloadJob.objects.create(
        environment=owner.environment, expires_at=timezone.now() + timedelta(hours=1)
    )
    put(job.archive_key)
    assert archives_remove_orphans() == 0
    job.delete()
    assert archives_remove_orphans() == 1
    assert not default_storage.exists(job.archive_key)


def test_each_tick_removes_a_bounded_number_of_orphans(owner):
    env = owner.environment.id
    for _ in range(3):
        variant_of(env, uuid.uuid4())
        put(f"downloads/{env}/{uuid.uuid4()}.zip")
    assert (variants_remove_orphans(limit=2), archives_remove_orphans(limit=2)) == (2, 2)
    assert (variants_remove_orphans(limit=2), archives_remove_orphans(limit=2)) == (1, 1)
    assert (variants_remove_orphans(limit=2), archives_remove_orphans(limit=2)) == (0, 0)
