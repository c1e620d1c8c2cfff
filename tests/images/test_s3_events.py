"""The S3 event endpoint completes direct uploads (storage-agnostic: it checks the object)."""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from rest_framework.test import APIClient

from images.models import Image
from tests import imagegen
from tests.uploads import create_upload

pytestmark = pytest.mark.django_db(transaction=True)
TOKEN = "s3-events-token"


@pytest.fixture(autouse=True)
def events_token(settings):
    settings.IMGWIRE_S3_EVENTS_TOKEN = TOKEN


def notify(key: str, token: str = TOKEN, event: str = "s3:ObjectCreated:Put"):
    body = {"Records": [{"eventName": event, "s3": {"object": {"key": key}}}]}
    return APIClient().post("/hooks/s3-events", body, format="json", HTTP_AUTHORIZATION=token)


def test_a_notification_for_an_arrived_object_completes_the_upload(owner, stub_worker):
    data = imagegen.jpeg()
    image_id = create_upload(owner.server, content_length=len(data)).json()["image"]["id"]
    record = Image.objects.get(id=image_id)
    default_storage.save(record.incoming_key, ContentFile(data))
    response = notify(record.incoming_key)
    assert response.status_code == 200
    assert response.json() == {"completed": 1}
    stub_worker()
    assert Image.objects.get(id=image_id).status == "READY"
    # A repeated notification is harmless.
    assert notify(record.incoming_key).json() == {"completed": 0}


def test_a_notification_without_the_object_completes_nothing(owner):
    image_id = create_upload(owner.server).json()["image"]["id"]
    assert notify(Image.objects.get(id=image_id).incoming_key).json() == {"completed": 0}
    assert Image.objects.get(id=image_id).can_upload


def test_a_notification_naming_another_environment_completes_nothing(owner, outsider):
    image_id = create_upload(owner.server).json()["image"]["id"]
    record = Image.objects.get(id=image_id)
    default_storage.save(record.incoming_key, ContentFile(b"x"))
    forged = f"incoming/{outsider.environment.id}/{image_id}"
    assert notify(forged).json() == {"completed": 0}


def test_removal_events_are_ignored(owner):
    image_id = create_upload(owner.server).json()["image"]["id"]
    record = Image.objects.get(id=image_id)
    default_storage.save(record.incoming_key, ContentFile(b"x"))
    assert notify(record.incoming_key, event="s3:ObjectRemoved:Delete").json() == {"completed": 0}


def test_the_endpoint_is_off_without_a_configured_token(settings):
    settings.IMGWIRE_S3_EVENTS_TOKEN = ""
    assert notify("x", token="").status_code == 401
