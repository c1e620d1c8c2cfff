"""Direct-to-S3 mode: presigned PUTs, completion by event notification or by polling."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings

from images.models import Image
from tests import imagegen
from tests.conftest import make_tenant
from tests.services.conftest import s3_client
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
EVENTS_TOKEN = "events-secret-for-tests"


@pytest.fixture
def tenant(live, settings):
    settings.IMGWIRE_UPLOAD_MODE = "direct"
    settings.IMGWIRE_S3_EVENTS_TOKEN = EVENTS_TOKEN
    tenant = make_tenant("direct")
    tenant.url = live
    tenant.headers = {"Authorization": f"Bearer {tenant.server_key}"}
    return tenant


def create(tenant, **fields):
    return requests.post(
        f"{tenant.url}/api/v1/images/standard_upload",
        json=fields,
        headers=tenant.headers,
        timeout=30,
    )


def status_of(tenant, image_id):
    return requests.get(
        f"{tenant.url}/api/v1/images/{image_id}", headers=tenant.headers, timeout=30
    ).json()


def settled(tenant, image_id):
    return wait_for(
        lambda: (s := status_of(tenant, image_id))["status"] in ("READY", "QUARANTINE") and s,
        timeout=90,
    )


def object_bytes(key: str) -> bytes:
    bucket = settings.STORAGES["default"]["OPTIONS"]["bucket_name"]
    return s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()


def test_the_upload_url_is_a_presigned_s3_put_bound_to_type_and_length(tenant):
    data = imagegen.jpeg()
    created = create(tenant, file_name="a.jpg", content_length=len(data)).json()
    url = urlsplit(created["upload_url"])
    endpoint = urlsplit(settings.STORAGES["default"]["OPTIONS"]["endpoint_url"])
    assert url.netloc == endpoint.netloc
    query = parse_qs(url.query)
    assert set(query["X-Amz-SignedHeaders"][0].split(";")) >= {"content-type", "content-length"}
    assert int(query["X-Amz-Expires"][0]) == settings.IMGWIRE_UPLOAD_URL_TTL_SECONDS


def test_direct_mode_requires_content_length(tenant):
    response = create(tenant, file_name="a.jpg")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "content_length"]


def test_polling_notices_the_object_without_any_notification(tenant):
    data = imagegen.png_rgba()
    created = create(tenant, file_name="a.png", content_length=len(data)).json()
    put = requests.put(
        created["upload_url"], data=data, headers={"Content-Type": "image/png"}, timeout=30
    )
    assert put.status_code == 200, put.text
    image = settled(tenant, created["image"]["id"])
    assert image["status"] == "READY"
    assert image["width"] == 40


def test_an_s3_event_notification_completes_the_upload(tenant):
    data = imagegen.webp()
    created = create(tenant, file_name="a.webp", content_length=len(data)).json()
    requests.put(
        created["upload_url"], data=data, headers={"Content-Type": "image/webp"}, timeout=30
    )
    record = Image.objects.get(id=created["image"]["id"])
    event = {
        "Records": [
            {
                "eventName": "s3:ObjectCreated:Put",
                "s3": {"bucket": {"name": "x"}, "object": {"key": record.incoming_key, "size": 1}},
            },
            {"eventName": "ObjectRemoved:Delete", "s3": {"object": {"key": "other"}}},
            {"eventName": "s3:ObjectCreated:Put", "s3": {"object": {"key": "unrelated/key"}}},
        ]
    }
    response = requests.post(
        f"{tenant.url}/hooks/s3-events",
        json=event,
        headers={"Authorization": f"Bearer {EVENTS_TOKEN}"},
        timeout=30,
    )
    assert response.status_code == 200
    # The polling fallback may have noticed first; either way the image completes once.
    assert response.json()["completed"] in (0, 1)
    assert settled(tenant, record.id)["status"] == "READY"


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        ({}, {"Records": []}, 401),
        ({"Authorization": "Bearer wrong"}, {"Records": []}, 401),
        ({"Authorization": EVENTS_TOKEN}, {"Records": "x"}, 400),
        ({"Authorization": EVENTS_TOKEN}, ["not", "an", "object"], 400),
        ({"Authorization": EVENTS_TOKEN}, {"Records": [1, None, {"eventName": 5}]}, 200),
    ],
)
def test_the_event_endpoint_refuses_bad_credentials_and_bodies(tenant, headers, body, status):
    response = requests.post(
        f"{tenant.url}/hooks/s3-events", json=body, headers=headers, timeout=30
    )
    assert response.status_code == status


def test_bytes_put_again_after_validation_never_change_the_original(tenant):
    data = imagegen.jpeg(width=80, height=60)
    created = create(tenant, file_name="a.jpg", content_length=len(data)).json()
    requests.put(
        created["upload_url"], data=data, headers={"Content-Type": "image/jpeg"}, timeout=30
    )
    assert settled(tenant, created["image"]["id"])["status"] == "READY"
    record = Image.objects.get(id=created["image"]["id"])
    # The presigned URL is still valid: write other bytes of the same length through it.
    other = bytes(len(data))
    requests.put(
        created["upload_url"], data=other, headers={"Content-Type": "image/jpeg"}, timeout=30
    )
    assert object_bytes(record.original_key) == data
    image = status_of(tenant, record.id)
    assert image["status"] == "READY"
    assert (image["width"], image["height"]) == (80, 60)
