"""The signing secret on the dashboard's keys page: revealed and rotated by owners and admins."""

import pytest

from keys.signing import signing_secret_reveal
from tests.dashboard.conftest import signed_in

pytestmark = pytest.mark.django_db


def test_owners_reveal_the_secret_on_a_page_nobody_caches(owner):
    client = signed_in(owner.user)
    listing = client.get(f"/dashboard/{owner.environment.id}/keys/")
    plaintext = signing_secret_reveal(environment=owner.environment)
    assert plaintext.encode() not in listing.content
    assert f"ss_…{plaintext[-4:]}".encode() in listing.content
    shown = client.post(f"/dashboard/{owner.environment.id}/keys/signing-secret/")
    assert shown.status_code == 200
    assert shown["Cache-Control"] == "no-store"
    assert plaintext.encode() in shown.content
    followed = client.get(f"/dashboard/{owner.environment.id}/keys/signing-secret/")
    assert followed.status_code == 302 and plaintext.encode() not in followed.content


def test_admins_rotate_and_a_reload_of_the_result_rotates_nothing(owner, admin_user):
    client = signed_in(admin_user)
    old = signing_secret_reveal(environment=owner.environment)
    url = f"/dashboard/{owner.environment.id}/keys/signing-secret/rotate/"
    assert client.get(url).status_code == 200  # the confirmation
    rotated = client.post(url, follow=True)
    assert rotated.redirect_chain[-1][0] == f"/dashboard/{owner.environment.id}/keys/"
    new = signing_secret_reveal(environment=owner.environment)
    assert new != old
    assert f"(…{old[-4:]}) is accepted until".encode() in rotated.content
    client.get(f"/dashboard/{owner.environment.id}/keys/")
    assert signing_secret_reveal(environment=owner.environment) == new


@pytest.mark.parametrize(("role", "status"), [("developer", 403), ("outsider", 404)])
def test_the_secret_is_refused_to_non_managers(owner, as_role, role, status):
    client = as_role(role)
    before = signing_secret_reveal(environment=owner.environment)
    env = owner.environment.id
    shown = client.post(f"/dashboard/{env}/keys/signing-secret/")
    assert shown.status_code == status
    assert before.encode() not in shown.content
    assert client.post(f"/dashboard/{env}/keys/signing-secret/rotate/").status_code == status
    assert signing_secret_reveal(environment=owner.environment) == before


def test_owners_switch_uploadcares_auto_store_and_see_where_its_clients_point(owner):
    from images.compat.uploadcare.services import store_decision

    client = signed_in(owner.user)
    keys_url = f"/dashboard/{owner.environment.id}/keys/"
    page = client.get(keys_url)
    assert b"/uploadcare/" in page.content and b"upload_base=" in page.content
    assert b"base-url=" in page.content  # the File Uploader widget's attribute
    assert store_decision(owner.environment, "auto") is True
    client.post(f"/dashboard/{owner.environment.id}/keys/uploadcare/", {})
    assert store_decision(owner.environment, "auto") is False
    client.post(f"/dashboard/{owner.environment.id}/keys/uploadcare/", {"auto_store": "on"})
    assert store_decision(owner.environment, "auto") is True


@pytest.mark.parametrize(("role", "status"), [("developer", 403), ("outsider", 404)])
def test_auto_store_is_refused_to_non_managers(owner, as_role, role, status):
    from images.compat.uploadcare.services import store_decision

    response = as_role(role).post(f"/dashboard/{owner.environment.id}/keys/uploadcare/", {})
    assert response.status_code == status
    assert store_decision(owner.environment, "auto") is True
