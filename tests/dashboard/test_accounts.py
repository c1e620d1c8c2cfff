import re

from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from environments.account_views import MAX_FAILURES
from environments.models import Membership, Role
from tests.dashboard.conftest import signed_in


def test_it_signs_up_and_lands_on_organization_creation(db):
    client = Client()
    response = client.post(
        "/accounts/signup/",
        {
            "email": "New@Example.com",
            "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase",
        },
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(email="new@example.com")
    assert user.username == "new@example.com"
    assert client.get("/dashboard/").url == "/dashboard/organizations/new/"


def test_it_refuses_sign_up_when_the_operator_turned_it_off(db, settings):
    settings.IMGWIRE_PUBLIC_SIGNUP = False
    response = Client().post(
        "/accounts/signup/",
        {
            "email": "x@example.com",
            "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase",
        },
    )
    assert response.status_code == 403
    assert not get_user_model().objects.filter(email="x@example.com").exists()


def test_it_refuses_a_second_account_for_the_same_email(owner):
    response = Client().post(
        "/accounts/signup/",
        {
            "email": "owner@example.com",
            "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase",
        },
    )
    assert response.status_code == 200
    assert b"already exists" in response.content


def test_it_signs_in_and_out(owner):
    client = Client()
    response = client.post(
        "/accounts/login/", {"username": " Owner@Example.com", "password": "pw-ownerownerowner"}
    )
    assert response.status_code == 302
    assert response.url == "/dashboard/"
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/dashboard/").status_code == 302


def test_it_locks_out_a_username_from_an_address_after_repeated_failures(owner):
    client = Client()
    for _ in range(MAX_FAILURES):
        response = client.post(
            "/accounts/login/", {"username": "owner@example.com", "password": "no"}
        )
        assert response.status_code == 200
    response = client.post(
        "/accounts/login/", {"username": "owner@example.com", "password": "pw-ownerownerowner"}
    )
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    other_address = Client(REMOTE_ADDR="10.1.2.3")
    response = other_address.post(
        "/accounts/login/", {"username": "owner@example.com", "password": "pw-ownerownerowner"}
    )
    assert response.status_code == 302


def test_a_password_reset_lifts_the_lockout_it_recommends(owner):
    client = Client()
    for _ in range(MAX_FAILURES):
        client.post("/accounts/login/", {"username": "owner@example.com", "password": "no"})
    locked = client.post(
        "/accounts/login/", {"username": "owner@example.com", "password": "pw-ownerownerowner"}
    )
    assert locked.status_code == 429 and b"reset your password" in locked.content
    client.post("/accounts/password_reset/", {"email": "owner@example.com"})
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+)", mail.outbox[-1].body).group(1)
    form = client.get(link, follow=True)  # Django moves the token into the session first
    new_password = "a-brand-new-pass-phrase"
    done = client.post(
        form.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password}
    )
    assert done.status_code == 302 and done.url == "/accounts/reset/done/"
    signed = client.post(
        "/accounts/login/", {"username": "owner@example.com", "password": new_password}
    )
    assert signed.status_code == 302
    assert signed.url == "/dashboard/"


def test_it_emails_a_password_reset_link(owner):
    response = Client().post("/accounts/password_reset/", {"email": "owner@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/accounts/reset/" in mail.outbox[0].body


def test_it_creates_an_organization_with_its_default_environment_and_me_as_owner(db):
    user = get_user_model().objects.create_user(username="u@example.com", email="u@example.com")
    client = signed_in(user)
    response = client.post("/dashboard/organizations/new/", {"name": "Acme"})
    membership = Membership.objects.get(user=user)
    environment = membership.organization.environments.get()
    assert membership.role == Role.OWNER
    assert environment.is_default
    assert response.url == f"/dashboard/{environment.id}/"


def test_the_switcher_moves_only_between_my_environments(owner, outsider):
    client = signed_in(owner.user)
    response = client.get("/dashboard/switch/", {"environment": str(owner.environment.id)})
    assert response.url == f"/dashboard/{owner.environment.id}/"
    response = client.get("/dashboard/switch/", {"environment": str(outsider.environment.id)})
    assert response.url == "/dashboard/"


def test_the_header_lists_my_organizations_and_environments(owner):
    response = signed_in(owner.user).get(f"/dashboard/{owner.environment.id}/")
    assert response.status_code == 200
    assert f'value="{owner.environment.id}" selected'.encode() in response.content


def test_the_emailed_link_sets_a_new_password(owner):
    client = Client()
    client.post("/accounts/password_reset/", {"email": "owner@example.com"})
    link = re.search(r"/accounts/reset/\S+/", mail.outbox[0].body).group(0)
    form_url = client.get(link).url  # Django swaps the token for a session marker
    response = client.post(
        form_url, {"new_password1": "another-long-phrase", "new_password2": "another-long-phrase"}
    )
    assert response.url == "/accounts/reset/done/"
    owner.user.refresh_from_db()
    assert owner.user.check_password("another-long-phrase")
