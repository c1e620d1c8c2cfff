"""Operator pages: fast list pages and actions that go through services."""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext

from images.models import Image
from tests import imagegen
from tests.uploads import create_upload, upload

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELISTS = [
    "/admin/images/image/",
    "/admin/images/imagedownloadjob/",
    "/admin/domains/customdomain/",
    "/admin/domains/corsorigin/",
    "/admin/keys/apikey/",
    "/admin/environments/invitation/",
    "/admin/environments/environment/",
]


@pytest.fixture
def operator(client):
    user = get_user_model().objects.create_superuser("op@example.com", "op@example.com", "pw")
    client.force_login(user)
    return client


@pytest.mark.parametrize("path", CHANGELISTS)
def test_list_pages_cost_the_same_queries_for_few_and_many_rows(operator, owner, path):
    create_upload(owner.server)
    with CaptureQueriesContext(connection) as few:
        assert operator.get(path).status_code == 200
    for _ in range(10):
        create_upload(owner.server)
    with CaptureQueriesContext(connection) as many:
        assert operator.get(path).status_code == 200
    assert len(many) == len(few), [q["sql"] for q in many]


def test_the_key_admin_never_shows_hashes_or_prefixes(operator, owner):
    from keys.models import ApiKey

    key = ApiKey.objects.first()
    page = operator.get(f"/admin/keys/apikey/{key.id}/change/").content.decode()
    assert key.secret_hash not in page
    assert key.prefix not in page


def test_re_processing_a_ready_image_verifies_it_again(operator, owner, stub_worker):
    image_id = upload(owner.server, imagegen.png_rgba(), "image/png", "a.png")
    stub_worker()
    before = Image.objects.get(id=image_id)
    response = operator.post(
        "/admin/images/image/", {"action": "reprocess", "_selected_action": [image_id]}
    )
    assert response.status_code == 302
    stub_worker()
    after = Image.objects.get(id=image_id)
    assert after.status == "READY"
    assert after.processed_metadata_at > before.processed_metadata_at
    assert default_storage.exists(after.original_key)
    assert not default_storage.exists(after.incoming_key)


def test_a_quarantined_image_is_not_re_processed_and_the_operator_is_told_why(
    operator, owner, stub_worker
):
    image_id = upload(owner.server, imagegen.tiff(), "image/png", "fake.png")
    stub_worker()
    response = operator.post(
        "/admin/images/image/",
        {"action": "reprocess", "_selected_action": [image_id]},
        follow=True,
    )
    assert "quarantined bytes are not kept" in response.content.decode()
    assert Image.objects.get(id=image_id).status == "QUARANTINE"


def test_non_staff_members_cannot_open_the_admin(client, owner):
    client.force_login(owner.user)
    assert client.get("/admin/images/image/").status_code == 302
