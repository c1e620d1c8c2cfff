"""The image lifecycle on PostgreSQL + S3 + a real broker with separate worker processes."""

import hashlib
import io
import threading

import pytest
import requests
from django.conf import settings
from PIL import Image as PILImage

from images.models import Image, variants_prefix
from tests import imagegen
from tests.conftest import make_tenant
from tests.services.conftest import s3_client
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tenant(live):
    tenant = make_tenant("svc")
    tenant.url = live
    tenant.headers = {"Authorization": f"Bearer {tenant.server_key}"}
    return tenant


def s3_keys(prefix: str) -> set[str]:
    options = settings.STORAGES["default"]["OPTIONS"]
    listed = s3_client().list_objects_v2(Bucket=options["bucket_name"], Prefix=prefix)
    return {item["Key"] for item in listed.get("Contents", [])}


def create(tenant, **fields):
    response = requests.post(
        f"{tenant.url}/api/v1/images/standard_upload",
        json=fields,
        headers=tenant.headers,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def final_state(tenant, image_id):
    def settled():
        image = requests.get(
            f"{tenant.url}/api/v1/images/{image_id}", headers=tenant.headers, timeout=30
        ).json()
        return image if image["status"] in ("READY", "QUARANTINE") else None

    return wait_for(settled, timeout=90)


def test_an_upload_becomes_ready_and_its_original_lives_in_s3(tenant):
    data = imagegen.jpeg(width=120, height=80)
    created = create(tenant, file_name="a.jpg", content_length=len(data))
    put = requests.put(
        created["upload_url"], data=data, headers={"Content-Type": "image/jpeg"}, timeout=30
    )
    assert put.status_code == 200, put.text
    image = final_state(tenant, created["image"]["id"])
    assert image["status"] == "READY"
    assert (image["width"], image["height"]) == (120, 80)
    assert image["hash_sha256"] == hashlib.sha256(data).hexdigest()
    record = Image.objects.get(id=image["id"])
    assert s3_keys(record.original_key) == {record.original_key}
    # The worker removes the upload's incoming object right after committing READY (in
    # that order, so a crash between the two leaves a READY image, never a lost one).
    wait_for(lambda: s3_keys(record.incoming_key) == set(), timeout=30)


def test_a_mislabelled_upload_is_quarantined(tenant):
    data = imagegen.tiff()
    created = create(tenant, file_name="a.png", content_length=len(data))
    requests.put(
        created["upload_url"], data=data, headers={"Content-Type": "image/png"}, timeout=30
    )
    image = final_state(tenant, created["image"]["id"])
    assert image["status"] == "QUARANTINE"
    assert "image/tiff" in image["status_reason"]


def test_a_refused_put_stores_nothing_in_s3(tenant):
    data = imagegen.jpeg()
    created = create(tenant, file_name="a.jpg", content_length=len(data))
    put = requests.put(
        created["upload_url"],
        data=data + b"more",
        headers={"Content-Type": "image/jpeg"},
        timeout=30,
    )
    assert put.status_code == 413
    assert s3_keys(f"incoming/{tenant.environment.id}/") == set()


def test_deleting_removes_the_objects_from_s3(tenant):
    data = imagegen.png_rgba()
    created = create(tenant, file_name="a.png", content_length=len(data))
    requests.put(
        created["upload_url"], data=data, headers={"Content-Type": "image/png"}, timeout=30
    )
    image = final_state(tenant, created["image"]["id"])
    record = Image.objects.get(id=image["id"])
    assert s3_keys(record.original_key)
    deleted = requests.delete(
        f"{tenant.url}/api/v1/images/{image['id']}", headers=tenant.headers, timeout=30
    )
    assert deleted.status_code == 200
    wait_for(lambda: not s3_keys(record.original_key))


def test_delivery_renders_from_s3_once_per_variant_and_404s_after_deletion(tenant):
    data = imagegen.jpeg(width=400, height=300)
    created = create(tenant, file_name="a.jpg", content_length=len(data))
    requests.put(
        created["upload_url"], data=data, headers={"Content-Type": "image/jpeg"}, timeout=30
    )
    image = final_state(tenant, created["image"]["id"])
    base = f"{tenant.url}/cdn/{tenant.organization.id}/{tenant.environment.id}/{image['id']}"
    original = requests.get(base, timeout=30)
    assert original.status_code == 200, original.text
    assert original.headers["Content-Type"] == "image/jpeg"
    assert int(original.headers["Content-Length"]) == len(original.content)
    variant = requests.get(f"{base}?width=100&format=png", timeout=30)
    assert variant.status_code == 200, variant.text
    with PILImage.open(io.BytesIO(variant.content)) as decoded:
        assert (decoded.format, decoded.size) == ("PNG", (100, 75))
    record = Image.objects.get(id=image["id"])
    cached = s3_keys(variants_prefix(record.environment_id, record.id))
    assert len(cached) == 2  # the metadata-free original and the PNG
    same = requests.get(f"{base}?f=png&w=100", timeout=30)
    assert (same.headers["ETag"], same.content) == (variant.headers["ETag"], variant.content)
    assert s3_keys(variants_prefix(record.environment_id, record.id)) == cached
    deleted = requests.delete(
        f"{tenant.url}/api/v1/images/{image['id']}", headers=tenant.headers, timeout=30
    )
    assert deleted.status_code == 200
    assert requests.get(f"{base}?width=100&format=png", timeout=30).status_code == 404
    wait_for(lambda: not s3_keys(variants_prefix(record.environment_id, record.id)))


def test_concurrent_duplicates_with_one_idempotency_key_create_one_image(tenant):
    results = []
    barrier = threading.Barrier(8)

    def send():
        barrier.wait()
        results.append(
            requests.post(
                f"{tenant.url}/api/v1/images/standard_upload",
                json={"file_name": "same.jpg", "idempotency_key": "dup-1"},
                headers=tenant.headers,
                timeout=30,
            )
        )

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {r.status_code for r in results} == {200}
    assert len({r.json()["image"]["id"] for r in results}) == 1
    assert Image.objects.filter(idempotency_key="dup-1").count() == 1


def put_measuring_peak(tenant, size: int) -> int:
    """PUT ``size`` zero bytes through the live server (in this process) and return the
    peak of Python allocations while it streams to S3."""
    import tracemalloc

    created = create(tenant, file_name="big.jpg", content_length=size)
    chunk = b"\0" * (1024 * 1024)

    def body():
        for offset in range(0, size, len(chunk)):
            yield chunk[: size - offset]

    tracemalloc.start()
    try:
        put = requests.put(
            created["upload_url"],
            data=body(),
            headers={"Content-Type": "image/jpeg", "Content-Length": str(size)},
            timeout=120,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert put.status_code == 200, put.text
    assert put.json()["size_bytes"] == size
    return peak


def test_a_100_mib_upload_streams_to_s3_with_flat_memory(tenant):
    mib = 1024 * 1024
    put_measuring_peak(tenant, mib)  # loads botocore's models and clients once
    small = put_measuring_peak(tenant, 40 * mib)
    large = put_measuring_peak(tenant, 100 * mib)
    # Memory is bounded by the multipart pipeline (a few 8 MiB parts), not by the body: once
    # the pipeline is full, 60 MiB more body costs less than one more part.
    assert large - small < 8 * mib, (small, large)
    assert large < 48 * mib, large
