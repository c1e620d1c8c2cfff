"""Orphaned variants and zip archives are found and removed on S3 too (prefix listings
through the bucket's delimiter, not folders)."""

import uuid
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from images.models import Image, ImageDownloadJob, variants_prefix
from images.services.maintenance import archives_remove_orphans, variants_remove_orphans
from tests.conftest import make_tenant

pytestmark = pytest.mark.django_db(transaction=True)


def put(key: str) -> str:
    default_storage.save(key, ContentFile(b"x"))
    return key


def test_orphaned_variants_and_archives_are_removed_from_the_bucket(bucket):
    tenant = make_tenant("orphans-s3")
    env = tenant.environment
    live = Image.objects.create(
        environment=env, original_filename="a.jpg", extension="jpg", mime_type="image/jpeg",
        status="READY",
    )  # fmt: skip
    job = ImageDownloadJob.objects.create(
        environment=env, expires_at=timezone.now() + timedelta(hours=1)
    )
    vanished, gone_job = uuid.uuid4(), uuid.uuid4()
    kept = [put(f"{variants_prefix(env.id, live.id)}w200.webp"), put(job.archive_key)]
    removed = [
        put(f"{variants_prefix(env.id, vanished)}w200.webp"),
        put(f"{variants_prefix(env.id, vanished)}intermediate"),
        put(f"downloads/{env.id}/{gone_job}.zip"),
    ]
    # Other tests share the bucket: count only what this one put there.
    variants_remove_orphans(limit=10_000)
    archives_remove_orphans(limit=10_000)
    assert all(default_storage.exists(key) for key in kept)
    assert not any(default_storage.exists(key) for key in removed)
