from django.db import connection
from django.test.utils import CaptureQueriesContext

from keys.models import ApiKey, ApiKeyType
from keys.services import api_key_authenticate, api_key_create
from tests.dashboard.conftest import signed_in


def test_it_creates_a_client_key_and_shows_its_secret_once(owner):
    client = signed_in(owner.user)
    response = client.post(
        f"/dashboard/{owner.environment.id}/keys/new/",
        {
            "name": "frontend",
            "key_type": "CLIENT",
            "policy-maximum_upload_bytes": "1000000",
            "policy-allowed_mime_types": ["image/png"],
            "policy-maximum_pending_uploads": "10",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = response.context["secret"]
    assert secret.startswith("ck_") and secret.encode() in response.content
    key = api_key_authenticate(secret)
    assert key.name == "frontend"
    assert key.allowed_mime_types == ["image/png"]
    assert key.maximum_upload_bytes == 1000000
    assert key.allow_unsigned_upload is False
    listing = client.get(f"/dashboard/{owner.environment.id}/keys/")
    assert secret.encode() not in listing.content
    assert key.last4.encode() in listing.content


def test_it_creates_a_server_key_without_a_policy(owner):
    response = signed_in(owner.user).post(
        f"/dashboard/{owner.environment.id}/keys/new/",
        {"name": "backend", "key_type": "SERVER"},
        follow=True,
    )
    assert response.context["secret"].startswith("sk_")


def test_reloading_the_page_after_creating_a_key_mints_nothing_and_shows_no_secret(owner):
    client = signed_in(owner.user)
    before = ApiKey.objects.count()
    created = client.post(
        f"/dashboard/{owner.environment.id}/keys/new/", {"name": "backend", "key_type": "SERVER"}
    )
    assert created.status_code == 302  # Post/Redirect/Get
    shown = client.get(created["Location"])
    secret = shown.context["secret"]
    assert secret.startswith("sk_") and secret.encode() in shown.content
    assert shown["Cache-Control"] == "no-store"
    reloaded = client.get(created["Location"])
    assert reloaded.status_code == 200
    assert secret.encode() not in reloaded.content
    assert b"shown once and cannot be shown again" in reloaded.content
    assert ApiKey.objects.count() == before + 1
    assert api_key_authenticate(secret).name == "backend"


def test_another_member_cannot_collect_a_new_keys_secret(owner, admin_user):
    created = signed_in(owner.user).post(
        f"/dashboard/{owner.environment.id}/keys/new/", {"name": "backend", "key_type": "SERVER"}
    )
    other = signed_in(admin_user).get(created["Location"])
    assert other.status_code == 200
    assert other.context["secret"] is None


def test_it_refuses_a_client_policy_outside_the_limits(owner):
    response = signed_in(owner.user).post(
        f"/dashboard/{owner.environment.id}/keys/new/",
        {"name": "x", "key_type": "CLIENT", "policy-maximum_upload_bytes": "10"},
    )
    assert response.status_code == 200
    assert "secret" not in response.context
    assert not ApiKey.objects.filter(name="x").exists()


def test_it_edits_a_client_key_policy(owner):
    key = ApiKey.objects.get(environment=owner.environment, key_type=ApiKeyType.CLIENT)
    response = signed_in(owner.user).post(
        f"/dashboard/{owner.environment.id}/keys/{key.id}/",
        {
            "maximum_upload_bytes": "6000",
            "allow_unsigned_upload": "on",
            "maximum_pending_uploads": "5",
        },
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert (key.maximum_upload_bytes, key.maximum_pending_uploads) == (6000, 5)
    assert key.allowed_mime_types is None


def test_it_revokes_a_key_after_confirmation(owner):
    key = ApiKey.objects.get(environment=owner.environment, key_type=ApiKeyType.SERVER)
    client = signed_in(owner.user)
    url = f"/dashboard/{owner.environment.id}/keys/{key.id}/revoke/"
    assert b"cannot be undone" in client.get(url).content
    assert client.post(url).status_code == 302
    assert api_key_authenticate(owner.server_key) is None


def test_it_does_not_touch_keys_of_another_environment(owner, outsider):
    key = ApiKey.objects.get(environment=outsider.environment, key_type=ApiKeyType.SERVER)
    response = signed_in(owner.user).post(
        f"/dashboard/{owner.environment.id}/keys/{key.id}/revoke/"
    )
    assert response.status_code == 404
    assert api_key_authenticate(outsider.server_key) is not None


def test_the_key_list_runs_a_fixed_number_of_queries(owner):
    client = signed_in(owner.user)
    url = f"/dashboard/{owner.environment.id}/keys/"
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(10):
        api_key_create(environment=owner.environment, name=f"k{n}", key_type=ApiKeyType.CLIENT)
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(few) == len(many) == 9
