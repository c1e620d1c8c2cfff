"""Every change an operator makes in the Django admin goes through the service that owns it.

The tests drive the admin's real change forms, delete pages and changelist actions as a
superuser, the way a browser posts them.
"""

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from domains.custom_domains import custom_domain_create
from domains.models import CorsOrigin, CustomDomain
from domains.services import cors_origin_create
from environments.lifecycle import environment_create_checked
from environments.models import Environment, Invitation
from environments.team import invitation_create
from images.models import Image, ImageDownloadJob, variants_prefix
from keys.models import ApiKey, ApiKeyType, SigningSecret
from tests.environments.test_quotas import stored_image

KEYS = "/admin/keys/apikey/"
IMAGES = "/admin/images/image/"
ENVIRONMENTS = "/admin/environments/environment/"


@pytest.fixture
def operator(client, db):
    user = get_user_model().objects.create_superuser("op@example.com", "op@example.com", "pw")
    client.force_login(user)
    return client


def act(client, changelist: str, action: str, objects, confirm: bool = True, **extra):
    data = {"action": action, "_selected_action": [str(o.pk) for o in objects], **extra}
    if confirm:
        data.update(confirm="yes", post="yes")  # ours, and Django's own delete_selected's
    return client.post(changelist, data, follow=True)


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def key_of(tenant, key_type: str) -> ApiKey:
    return ApiKey.objects.get(environment=tenant.environment, key_type=key_type)


def key_form(key: ApiKey, **overrides) -> dict:
    data = {
        "name": key.name,
        "allowed_mime_types": key.allowed_mime_types or [],
        "maximum_upload_bytes": str(key.maximum_upload_bytes or 50 * 1024 * 1024),
        "maximum_pending_uploads": str(key.maximum_pending_uploads or ""),
    }
    if key.allow_unsigned_upload:
        data["allow_unsigned_upload"] = "on"
    data.update(overrides)
    return {name: value for name, value in data.items() if value is not None}


def stored_with_objects(environment) -> Image:
    """A READY image whose original and one variant exist in storage."""
    image = stored_image(environment)
    default_storage.save(image.original_key, ContentFile(b"original"))
    default_storage.save(
        f"{variants_prefix(environment.id, image.id)}/w200.webp", ContentFile(b"variant")
    )
    return image


def objects_of(image: Image) -> list[str]:
    prefix = variants_prefix(image.environment_id, image.id)
    _, variants = default_storage.listdir(prefix) if default_storage.exists(prefix) else ([], [])
    return [k for k in [image.original_key] if default_storage.exists(k)] + variants


# --- API keys -----------------------------------------------------------------------------


def test_a_keys_environment_and_type_cannot_be_changed_in_the_admin(operator, owner, outsider):
    key = key_of(owner, ApiKeyType.CLIENT)
    url = f"{KEYS}{key.id}/change/"
    form = page(operator.get(url))
    assert 'name="environment"' not in form and 'name="key_type"' not in form
    response = operator.post(
        url,
        key_form(key, environment=str(outsider.environment.id), key_type=ApiKeyType.SERVER),
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.environment_id == owner.environment.id
    assert key.key_type == ApiKeyType.CLIENT
    image = stored_image(owner.environment)
    assert owner.browser.get(f"/api/v1/images/{image.id}").status_code == 200  # still theirs


def test_an_operator_renames_a_client_key_and_edits_its_policy_within_the_dashboards_bounds(
    operator, owner
):
    key = key_of(owner, ApiKeyType.CLIENT)
    url = f"{KEYS}{key.id}/change/"
    too_small = operator.post(url, key_form(key, maximum_upload_bytes="10"))
    assert "Ensure this value is greater than or equal to 5120" in page(too_small)
    response = operator.post(
        url,
        key_form(
            key,
            name="  Storefront  ",
            allowed_mime_types=["image/png", "image/webp"],
            maximum_upload_bytes="1048576",
            allow_unsigned_upload=None,
            maximum_pending_uploads="7",
        ),
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.name == "Storefront"
    assert key.allowed_mime_types == ["image/png", "image/webp"]
    assert (key.maximum_upload_bytes, key.maximum_pending_uploads) == (1048576, 7)
    assert key.allow_unsigned_upload is False


def test_a_server_key_shows_no_client_policy_to_edit(operator, owner):
    key = key_of(owner, ApiKeyType.SERVER)
    url = f"{KEYS}{key.id}/change/"
    form = page(operator.get(url))
    assert 'name="maximum_upload_bytes"' not in form and 'name="name"' in form
    response = operator.post(
        url, {"name": "backend", "maximum_upload_bytes": "6000", "allowed_mime_types": ["x"]}
    )
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.name == "backend"
    assert key.maximum_upload_bytes is None and key.allowed_mime_types is None


def test_a_revoked_key_can_no_longer_be_edited(operator, owner):
    key = key_of(owner, ApiKeyType.CLIENT)
    act(operator, KEYS, "revoke", [key])
    form = page(operator.get(f"{KEYS}{key.id}/change/"))
    assert 'name="name"' not in form and 'name="maximum_upload_bytes"' not in form


def test_the_revoke_action_revokes_exactly_the_selected_keys(operator, owner, outsider):
    key = key_of(owner, ApiKeyType.SERVER)
    content = page(act(operator, KEYS, "revoke", [key]))
    assert "Revoked 1 key(s)." in content
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert owner.server.get("/api/v1/images/").status_code == 401
    assert outsider.server.get("/api/v1/images/").status_code == 200


def test_keys_are_revoked_not_deleted(operator, owner):
    key = key_of(owner, ApiKeyType.SERVER)
    assert operator.get(f"{KEYS}{key.id}/delete/").status_code == 403
    content = page(act(operator, KEYS, "delete_selected", [key], post="yes"))
    assert "No action selected." in content
    assert ApiKey.objects.filter(pk=key.pk).exists()


# --- images -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_delete_selected_deletes_the_images_and_purges_their_objects(
    operator, owner, outsider, stub_worker
):
    mine, theirs, kept = (
        stored_with_objects(owner.environment),
        stored_with_objects(outsider.environment),
        stored_with_objects(owner.environment),
    )
    done = page(act(operator, IMAGES, "delete_selected", [mine, theirs]))
    stub_worker()
    assert objects_of(mine) == [] and objects_of(theirs) == []
    assert len(objects_of(kept)) == 2
    assert set(Image.objects.alive().values_list("id", flat=True)) == {kept.id}
    assert owner.server.get(f"/api/v1/images/{mine.id}").status_code == 404
    assert "Deleted 2 image(s)." in done


def test_delete_selected_asks_before_deleting_images(operator, owner):
    image = stored_image(owner.environment)
    asked = page(act(operator, IMAGES, "delete_selected", [image], confirm=False))
    assert "Delete these images? Their originals and variants are removed" in asked
    assert f'name="_selected_action" value="{image.id}"' in asked
    assert Image.objects.alive().count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_delete_page_of_an_image_purges_its_objects(operator, owner, stub_worker):
    image = stored_with_objects(owner.environment)
    response = operator.post(f"{IMAGES}{image.id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    stub_worker()
    assert objects_of(image) == []
    image.refresh_from_db()
    assert image.deleted_at is not None


# --- environments -------------------------------------------------------------------------


def test_an_operator_adds_an_environment_through_the_lifecycle_service(operator, owner):
    organization = owner.organization
    response = operator.post(
        f"{ENVIRONMENTS}add/",
        {"organization": str(organization.id), "name": "Staging", "make_default": "on"},
    )
    assert response.status_code == 302, response.content
    staging = Environment.objects.get(organization=organization, name="Staging")
    assert SigningSecret.objects.for_environment(staging).current().count() == 1
    assert staging.is_default
    owner.environment.refresh_from_db()
    assert owner.environment.is_default is False  # one default per organization
    taken = operator.post(
        f"{ENVIRONMENTS}add/", {"organization": str(organization.id), "name": "Staging"}
    )
    assert "already exists" in page(taken)
    assert Environment.objects.filter(organization=organization).count() == 2


def test_an_environment_cannot_be_moved_to_another_organization(operator, owner, outsider):
    url = f"{ENVIRONMENTS}{owner.environment.id}/change/"
    assert 'name="organization"' not in page(operator.get(url))
    response = operator.post(
        url,
        {"organization": str(outsider.organization.id), "name": "Renamed", "make_default": "on"},
    )
    assert response.status_code == 302
    owner.environment.refresh_from_db()
    assert owner.environment.organization_id == owner.organization.id
    assert owner.environment.name == "Renamed"


def test_renaming_to_a_taken_name_is_refused_with_a_message_and_nothing_saved(operator, owner):
    staging = environment_create_checked(organization=owner.organization, name="Staging")
    url = f"{ENVIRONMENTS}{staging.id}/change/"
    response = operator.post(
        url, {"name": owner.environment.name, "make_default": "on"}, follow=True
    )
    assert f"Nothing was saved: An environment named {owner.environment.name}" in page(response)
    staging.refresh_from_db()
    assert (staging.name, staging.is_default) == ("Staging", False)


def test_the_default_moves_by_marking_another_environment_never_by_clearing_it(operator, owner):
    staging = environment_create_checked(organization=owner.organization, name="Staging")
    cleared = operator.post(
        f"{ENVIRONMENTS}{owner.environment.id}/change/", {"name": owner.environment.name}
    )
    assert "mark another one as the default instead" in page(cleared)
    marked = operator.post(
        f"{ENVIRONMENTS}{staging.id}/change/", {"name": "Staging", "make_default": "on"}
    )
    assert marked.status_code == 302
    defaults = Environment.objects.filter(organization=owner.organization, is_default=True)
    assert list(defaults) == [staging]


def test_an_organizations_last_environment_is_not_deleted(operator, owner):
    url = f"{ENVIRONMENTS}{owner.environment.id}/delete/"
    response = operator.post(url, {"post": "yes"}, follow=True)
    assert Environment.objects.filter(pk=owner.environment.pk).exists()
    assert "Nothing was deleted: An organization keeps at least one environment." in page(response)


@pytest.mark.django_db(transaction=True)
def test_deleting_environments_purges_their_images_and_keeps_each_organizations_last(
    operator, owner, outsider, stub_worker
):
    staging = environment_create_checked(organization=owner.organization, name="Staging")
    image = stored_with_objects(staging)
    content = page(act(operator, ENVIRONMENTS, "delete_selected", [staging, outsider.environment]))
    stub_worker()
    assert Environment.objects.filter(pk=outsider.environment.pk).exists()
    assert not Environment.objects.filter(pk=staging.pk).exists()
    assert objects_of(image) == []
    assert "Deleted 1 environment(s) and their images." in content
    assert "An organization keeps at least one environment." in content


def test_deleting_environments_asks_first(operator, owner):
    staging = environment_create_checked(organization=owner.organization, name="Staging")
    asked = page(act(operator, ENVIRONMENTS, "delete_selected", [staging], confirm=False))
    assert "Delete these environments with everything in them?" in asked
    assert Environment.objects.filter(pk=staging.pk).exists()


# --- invitations, domains, download jobs --------------------------------------------------


def test_an_invitation_is_read_only_and_deleting_it_revokes_it(
    operator, owner, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, _ = invitation_create(
            organization=owner.organization,
            email="new@example.com",
            role="DEVELOPER",
            invited_by=owner.user,
        )
    url = f"/admin/environments/invitation/{invitation.id}/change/"
    form = page(operator.get(url))
    assert 'name="email"' not in form and 'name="accepted_at_0"' not in form
    operator.post(url, {"email": "attacker@example.com", "role": "OWNER", "accepted_at_0": "x"})
    invitation.refresh_from_db()
    assert (invitation.email, invitation.role, invitation.accepted_at) == (
        "new@example.com",
        "DEVELOPER",
        None,
    )
    response = operator.post(
        f"/admin/environments/invitation/{invitation.id}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Invitation.objects.exists()


def test_custom_domains_and_cors_origins_are_deleted_through_their_services(
    operator, owner, monkeypatch
):
    import domains.admin

    calls = []
    for name in ("custom_domain_delete", "cors_origin_delete"):
        service = getattr(domains.admin, name)
        monkeypatch.setattr(
            domains.admin,
            name,
            lambda service=service, name=name, **kwargs: calls.append(name) or service(**kwargs),
        )
    domain = custom_domain_create(environment=owner.environment, hostname="img.shop.example")
    origin = cors_origin_create(environment=owner.environment, pattern="https://shop.example")
    act(operator, "/admin/domains/customdomain/", "delete_selected", [domain], post="yes")
    act(operator, "/admin/domains/corsorigin/", "delete_selected", [origin], post="yes")
    assert calls == ["custom_domain_delete", "cors_origin_delete"]
    assert not CustomDomain.objects.exists() and not CorsOrigin.objects.exists()


def test_download_jobs_are_not_deleted_by_hand(operator, owner):
    job = ImageDownloadJob.objects.create(
        environment=owner.environment, image_ids=[], expires_at=timezone.now()
    )
    assert operator.get(f"/admin/images/imagedownloadjob/{job.id}/delete/").status_code == 403
    act(operator, "/admin/images/imagedownloadjob/", "delete_selected", [job])
    assert ImageDownloadJob.objects.filter(pk=job.pk).exists()
