"""Every dashboard page and action, for each member of the cast."""

import pytest

from images.models import Image
from keys.models import ApiKey

MANAGE = {"owner": 200, "admin": 200, "developer": 403, "outsider": 404, "anonymous": 302}
MEMBER = {"owner": 200, "admin": 200, "developer": 200, "outsider": 404, "anonymous": 302}


def _image(owner):
    return Image.objects.create(
        environment=owner.environment,
        original_filename="a.png",
        extension="png",
        mime_type="image/png",
    )


def _pages(owner):
    env = owner.environment.id
    key = ApiKey.objects.filter(environment=owner.environment, key_type="CLIENT").first()
    image = _image(owner)
    return {
        f"/dashboard/{env}/": MEMBER,
        f"/dashboard/{env}/images/": MEMBER,
        f"/dashboard/{env}/images/upload/": MEMBER,
        f"/dashboard/{env}/images/{image.id}/": MEMBER,
        f"/dashboard/{env}/team/": MEMBER,
        f"/dashboard/{env}/keys/": MANAGE,
        f"/dashboard/{env}/keys/new/": MANAGE,
        f"/dashboard/{env}/keys/{key.id}/": MANAGE,
        f"/dashboard/{env}/keys/{key.id}/revoke/": MANAGE,
    }


@pytest.mark.parametrize("role", list(MANAGE))
def test_each_page_answers_each_role_as_its_role_allows(owner, as_role, role):
    client = as_role(role)
    for url, expected in _pages(owner).items():
        assert client.get(url).status_code == expected[role], url


@pytest.mark.parametrize("role", ["developer", "outsider", "anonymous"])
def test_key_actions_are_refused_to_non_managers(owner, as_role, role):
    client = as_role(role)
    env = owner.environment.id
    key = ApiKey.objects.filter(environment=owner.environment).first()
    expected = {"developer": 403, "outsider": 404, "anonymous": 302}[role]
    assert (
        client.post(f"/dashboard/{env}/keys/new/", {"name": "x", "key_type": "SERVER"}).status_code
        == expected
    )
    assert client.post(f"/dashboard/{env}/keys/{key.id}/revoke/").status_code == expected
    assert client.post(f"/dashboard/{env}/keys/{key.id}/", {}).status_code == expected
    assert ApiKey.objects.filter(environment=owner.environment).count() == 2
    assert not ApiKey.objects.filter(revoked_at__isnull=False).exists()


@pytest.mark.parametrize("role", ["developer", "outsider", "anonymous"])
def test_team_actions_are_refused_to_non_managers(owner, as_role, role, admin_user):
    client = as_role(role)
    env = owner.environment.id
    membership = admin_user.memberships.get()
    expected = {"developer": 403, "outsider": 404, "anonymous": 302}[role]
    assert (
        client.post(
            f"/dashboard/{env}/team/invite/", {"email": "x@example.com", "role": "OWNER"}
        ).status_code
        == expected
    )
    assert (
        client.post(
            f"/dashboard/{env}/team/{membership.id}/role/", {"role": "DEVELOPER"}
        ).status_code
        == expected
    )
    assert client.post(f"/dashboard/{env}/team/{membership.id}/remove/").status_code == expected
    membership.refresh_from_db()
    assert membership.role == "ADMIN"


@pytest.mark.parametrize("role", ["outsider", "anonymous"])
def test_image_actions_are_refused_to_strangers(owner, as_role, role):
    client = as_role(role)
    env = owner.environment.id
    image = _image(owner)
    expected = {"outsider": 404, "anonymous": 302}[role]
    assert client.post(f"/dashboard/{env}/images/{image.id}/delete/").status_code == expected
    assert (
        client.post(
            f"/dashboard/{env}/images/bulk/", {"ids": [image.id], "action": "delete"}
        ).status_code
        == expected
    )
    assert client.post(f"/dashboard/{env}/images/upload/credentials/").status_code == expected
    assert Image.objects.for_environment(owner.environment).count() == 1


def test_the_developer_sees_no_key_management_link(owner, as_role):
    response = as_role("developer").get(f"/dashboard/{owner.environment.id}/")
    assert b"API keys" not in response.content
    response = as_role("admin").get(f"/dashboard/{owner.environment.id}/")
    assert b"API keys" in response.content


def test_an_outsider_cannot_open_an_image_of_another_environment_through_their_own(owner, outsider):
    from tests.dashboard.conftest import signed_in

    image = _image(owner)
    client = signed_in(outsider.user)
    assert client.get(f"/dashboard/{outsider.environment.id}/images/{image.id}/").status_code == 404
    assert (
        client.post(f"/dashboard/{outsider.environment.id}/images/{image.id}/delete/").status_code
        == 404
    )


def test_forms_without_a_csrf_token_are_refused_with_an_explanation(owner):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(owner.user)
    response = client.post(f"/dashboard/{owner.environment.id}/keys/new/", {"name": "x"})
    assert response.status_code == 403
    assert b"security token" in response.content
