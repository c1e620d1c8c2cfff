"""Uploadcare multipart uploads in direct mode: parts go straight to S3 (moto's server)
through presigned UploadPart URLs, and complete assembles them in S3."""

import io
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone
from PIL import Image as PILImage

from images.compat.uploadcare.maintenance import uploadcare_reconcile
from images.compat.uploadcare.models import UploadcareMultipart
from images.models import Image, ImageStatus
from tests.conftest import make_tenant
from tests.services.conftest import s3_client
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
MiB = 1024 * 1024


def bucket_name() -> str:
    return settings.STORAGES["default"]["OPTIONS"]["bucket_name"]


@pytest.fixture
def tenant(settings, bucket):
    settings.IMGWIRE_UPLOAD_MODE = "direct"
    return make_tenant("ucdirect")


def start(tenant, size: int):
    return (
        Client()
        .post(
            "/uploadcare/multipart/start/",
            {
                "UPLOADCARE_PUB_KEY": tenant.client_key,
                "filename": "big.png",
                "size": str(size),
                "content_type": "image/png",
                "part_size": str(5 * MiB),
            },
        )
        .json()
    )


def noise_png(width: int, height: int) -> bytes:
    """A PNG of random pixels, stored uncompressed: its size is about width x height x 3."""
    buffer = io.BytesIO()
    picture = PILImage.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    picture.save(buffer, "PNG", compress_level=0)
    return buffer.getvalue()


def test_parts_go_to_s3_in_parallel_and_complete_assembles_them_there(tenant, workers):
    # The completed upload is verified by a real worker; the test waits for it, so that no
    # worker transaction is still open when the database is flushed after the test (the
    # workers outlive each test, and a flush meeting one deadlocked).
    workers.ensure_running()
    data = noise_png(2048, 1900)  # ~11 MiB: three 5 MiB parts
    started = start(tenant, len(data))
    endpoint = settings.STORAGES["default"]["OPTIONS"]["endpoint_url"]
    assert all(url.startswith(endpoint) for url in started["parts"])  # not through Imgwire

    def put(number):
        chunk = data[(number - 1) * 5 * MiB : number * 5 * MiB]
        return requests.put(started["parts"][number - 1], data=chunk, timeout=60).status_code

    with ThreadPoolExecutor(3) as pool:
        assert list(pool.map(put, [3, 1, 2])) == [200, 200, 200]
    done = Client().post(
        "/uploadcare/multipart/complete/",
        {"UPLOADCARE_PUB_KEY": tenant.client_key, "uuid": started["uuid"]},
    )
    assert done.status_code == 200, done.content
    image = wait_for(
        lambda: Image.objects.filter(id=started["uuid"], status=ImageStatus.READY).first(),
        timeout=90,
    )
    assert image.bytes_received_at is not None and image.size_bytes == len(data)
    # The original is the assembled upload unchanged (the incoming copy is gone once READY).
    key = default_storage._normalize_name(image.original_key)
    stored = s3_client().get_object(Bucket=bucket_name(), Key=key)["Body"].read()
    assert stored == data


def test_complete_refuses_parts_of_the_wrong_size(tenant):
    # S3 itself refuses such a PUT (the presigned URL signs the part's length); moto does
    # not check signed headers, so this is complete's own check of what S3 holds.
    started = start(tenant, 11 * MiB)
    requests.put(started["parts"][0], data=b"x" * MiB, timeout=60)
    requests.put(started["parts"][1], data=b"x" * 5 * MiB, timeout=60)
    requests.put(started["parts"][2], data=b"x" * MiB, timeout=60)
    done = (
        Client()
        .post(
            "/uploadcare/multipart/complete/",
            {"UPLOADCARE_PUB_KEY": tenant.client_key, "uuid": started["uuid"]},
        )
        .json()
    )
    assert done["error"]["error_code"] == "MultipartFileCompletionFailedError"
    assert Image.objects.get(id=started["uuid"]).bytes_received_at is None


def test_complete_names_the_parts_s3_has_not_received(tenant):
    started = start(tenant, 11 * MiB)
    requests.put(started["parts"][0], data=b"x" * 5 * MiB, timeout=60)
    done = (
        Client()
        .post(
            "/uploadcare/multipart/complete/",
            {"UPLOADCARE_PUB_KEY": tenant.client_key, "uuid": started["uuid"]},
        )
        .json()
    )
    assert done["error"]["error_code"] == "MultipartUploadSizeTooSmallError"
    assert "2, 3" in done["error"]["content"]


def test_an_abandoned_direct_upload_is_aborted_in_s3(tenant):
    started = start(tenant, 11 * MiB)
    requests.put(started["parts"][0], data=b"x" * 5 * MiB, timeout=60)
    session = UploadcareMultipart.objects.get()
    later = timezone.now() + timedelta(seconds=settings.IMGWIRE_UPLOAD_URL_TTL_SECONDS * 2 + 1)
    assert uploadcare_reconcile(later).multipart_parts_removed == 1
    uploads = s3_client().list_multipart_uploads(Bucket=bucket_name()).get("Uploads", [])
    assert session.s3_upload_id not in [upload["UploadId"] for upload in uploads]
