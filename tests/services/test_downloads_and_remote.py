"""Bulk downloads and remote ingest on PostgreSQL + S3 + a real broker."""

import io
import zipfile
from ipaddress import ip_network

import pytest
import requests

from tests import imagegen, sourceserver
from tests.conftest import make_tenant
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
source_server = sourceserver.source_server


@pytest.fixture
def tenant(live):
    tenant = make_tenant("zip")
    tenant.url = live
    tenant.headers = {"Authorization": f"Bearer {tenant.server_key}"}
    return tenant


def api(tenant, method, path, **kwargs):
    return requests.request(
        method, f"{tenant.url}/api/v1/images/{path}", headers=tenant.headers, timeout=60, **kwargs
    )


def ready(tenant, image_id):
    return wait_for(
        lambda: (
            (i := api(tenant, "GET", image_id).json())["status"] in ("READY", "QUARANTINE") and i
        ),
        timeout=90,
    )


def test_a_zip_of_s3_originals_downloads_through_a_presigned_url(tenant):
    originals = [imagegen.jpeg(), imagegen.png_rgba(), imagegen.webp()]
    ids = []
    for data, name, mime in zip(
        originals,
        ["a.jpg", "b.png", "c.webp"],
        ["image/jpeg", "image/png", "image/webp"],
        strict=True,
    ):
        created = api(
            tenant, "POST", "standard_upload", json={"file_name": name, "content_length": len(data)}
        ).json()
        requests.put(created["upload_url"], data=data, headers={"Content-Type": mime}, timeout=30)
        ids.append(created["image"]["id"])
    assert all(ready(tenant, i)["status"] == "READY" for i in ids)
    job = api(tenant, "POST", "downloads", json={"image_ids": ids}).json()
    job = wait_for(
        lambda: (
            (j := api(tenant, "GET", f"downloads/{job['id']}").json())["status"]
            in ("READY", "FAILED")
            and j
        ),
        timeout=90,
    )
    assert job["status"] == "READY"
    archive = requests.get(job["download_url"], timeout=60)
    assert archive.status_code == 200
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        assert opened.namelist() == ["a.jpg", "b.png", "c.webp"]
        assert [opened.read(n) for n in opened.namelist()] == originals


def test_a_remote_image_lands_in_s3_and_becomes_ready(tenant, source_server, settings):
    settings.IMGWIRE_URL_FETCH_ALLOWED_NETWORKS = (ip_network("127.0.0.0/8"),)
    response = api(tenant, "POST", "upload_via_url", json={"url": source_server.url("/image.png")})
    assert response.status_code == 200, response.text
    image = ready(tenant, response.json()["id"])
    assert image["status"] == "READY"
    assert (image["width"], image["height"]) == (4, 3)
