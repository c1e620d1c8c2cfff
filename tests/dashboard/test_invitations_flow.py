"""Invitations as people meet them: a signed-out newcomer follows the link and signs up or
signs in with the invitation carried through (also with sign-up closed), landing in the
organization; the team page lists each pending link with copy, resend, revoke and its
expiry; duplicates are refused; a used, expired or revoked link explains itself."""

import re
from datetime import UTC, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from environments.invitations import invitation_accept
from environments.lifecycle import environment_mark_default
from environments.models import Invitation, Membership, Role
from environments.services import environment_create
from imgwire_site import domain
from imgwire_site.domain import Refusal
from tests.dashboard.conftest import signed_in

PASSWORD = "a-long-pass-phrase"


@pytest.fixture
def invite(owner, django_capture_on_commit_callbacks):
    """Invite through the team page as the owner; returns the emailed link's token."""

    def send(email="new@example.com", role="DEVELOPER", tenant=None):
        tenant = tenant or owner
        with django_capture_on_commit_callbacks(execute=True):
            response = signed_in(tenant.user).post(
                f"/dashboard/{tenant.environment.id}/team/invite/",
                {"email": email, "role": role},
                follow=True,
            )
        assert response.status_code == 200
        return re.search(r"/accounts/invitations/([^/\s]+)/", mail.outbox[-1].body).group(1)

    return send


def sign_up(client, email="new@example.com", **extra):
    return client.post(
        "/accounts/signup/",
        {"email": email, "password1": PASSWORD, "password2": PASSWORD, **extra},
    )


def joined(email, owner) -> Membership | None:
    return Membership.objects.filter(user__email=email, organization=owner.organization).first()


def make_user(email):
    return get_user_model().objects.create_user(username=email, email=email, password=PASSWORD)


# --- a signed-out person follows the link ---------------------------------------------------


def test_a_signed_out_newcomer_is_told_who_invited_them_and_offered_both_ways_in(owner, invite):
    token = invite()
    page = Client().get(f"/accounts/invitations/{token}/").content.decode()
    assert "owner@example.com invited <strong>new@example.com</strong>" in page
    assert "Join owner" in page
    assert f'href="/accounts/signup/?invitation={token}"' in page
    assert f'href="/accounts/login/?next=/accounts/invitations/{token}/"' in page


def test_an_invitee_who_has_an_account_is_offered_sign_in_only(owner, invite):
    make_user("new@example.com")
    token = invite()
    page = Client().get(f"/accounts/invitations/{token}/").content.decode()
    assert "Sign in to accept" in page
    assert "/accounts/signup/" not in page


def test_signing_up_from_the_link_joins_with_the_role_and_lands_in_the_organization(owner, invite):
    token = invite(role="ADMIN")
    client = Client()
    client.get(f"/accounts/invitations/{token}/")
    response = sign_up(client, invitation=token)
    assert response.url == f"/dashboard/{owner.environment.id}/"
    assert joined("new@example.com", owner).role == Role.ADMIN
    page = client.get(response.url)
    assert b"You joined owner." in page.content


def test_the_default_environment_is_where_a_new_member_lands(owner, invite):
    staging = environment_create(organization=owner.organization, name="Staging")
    environment_mark_default(environment=staging)
    response = sign_up(Client(), invitation=invite())
    assert response.url == f"/dashboard/{staging.id}/"


def test_create_an_account_from_any_page_keeps_the_invitation_opened_before(owner, invite):
    token = invite()
    client = Client()
    client.get(f"/accounts/invitations/{token}/")
    form = client.get("/accounts/signup/").content.decode()
    assert f'name="invitation" value="{token}"' in form
    assert "You are joining <strong>owner</strong>" in form
    assert 'value="new@example.com"' in form  # the address is filled in
    response = sign_up(client, invitation=re.search(r'name="invitation" value="([^"]*)"', form)[1])
    assert response.url == f"/dashboard/{owner.environment.id}/"
    assert joined("new@example.com", owner) is not None


@pytest.mark.parametrize("through_the_link", [True, False])
def test_signing_in_after_opening_the_link_joins_and_lands_in_the_organization(
    owner, invite, through_the_link
):
    make_user("new@example.com")
    token = invite()
    client = Client()
    client.get(f"/accounts/invitations/{token}/")
    login_page = client.get("/accounts/login/").content.decode()
    assert "Sign in as new@example.com to join <strong>owner</strong>" in login_page
    query = f"?next=/accounts/invitations/{token}/" if through_the_link else ""
    response = client.post(
        f"/accounts/login/{query}", {"username": "New@Example.com", "password": PASSWORD}
    )
    assert response.url == f"/dashboard/{owner.environment.id}/"
    assert joined("new@example.com", owner).role == Role.DEVELOPER


def test_signing_in_as_another_address_joins_nothing_and_the_link_says_why(owner, outsider, invite):
    token = invite()
    client = Client()
    client.get(f"/accounts/invitations/{token}/")
    response = client.post(
        "/accounts/login/", {"username": outsider.user.email, "password": "pw-" + "outsider" * 3}
    )
    assert response.url == f"/accounts/invitations/{token}/"
    page = client.get(response.url).content.decode()
    assert "You are signed in as outsider@example.com, but this invitation is for" in page
    assert "Accept invitation" not in page
    assert client.post(response.url, follow=True).status_code == 200
    assert joined("outsider@example.com", owner) is None


def test_a_signed_in_invitee_accepts_with_one_click(owner, invite):
    user = make_user("new@example.com")
    token = invite()
    client = signed_in(user)
    assert b"Accept invitation" in client.get(f"/accounts/invitations/{token}/").content
    assert joined("new@example.com", owner) is None  # opening the page is not accepting
    response = client.post(f"/accounts/invitations/{token}/")
    assert response.url == f"/dashboard/{owner.environment.id}/"
    assert joined("new@example.com", owner) is not None


# --- sign-up closed -------------------------------------------------------------------------


def test_with_sign_up_closed_the_invitation_still_lets_its_address_sign_up(owner, invite, settings):
    settings.IMGWIRE_PUBLIC_SIGNUP = False
    token = invite()
    client = Client()
    page = client.get(f"/accounts/invitations/{token}/").content.decode()
    assert f"/accounts/signup/?invitation={token}" in page
    assert client.get(f"/accounts/signup/?invitation={token}").status_code == 200
    assert sign_up(client, invitation=token).url == f"/dashboard/{owner.environment.id}/"
    assert joined("new@example.com", owner) is not None


def test_with_sign_up_closed_the_sign_in_page_offers_sign_up_only_with_an_invitation(
    owner, invite, settings
):
    settings.IMGWIRE_PUBLIC_SIGNUP = False
    client = Client()
    assert b"Create an account" not in client.get("/accounts/login/").content
    assert client.get("/accounts/signup/").status_code == 403
    token = invite()
    client.get(f"/accounts/invitations/{token}/")
    assert (
        f"/accounts/signup/?invitation={token}".encode() in client.get("/accounts/login/").content
    )


@pytest.mark.parametrize("public_signup", [True, False])
def test_signing_up_with_an_expired_invitation_explains_it_instead_of_joining_nothing(
    owner, invite, settings, public_signup
):
    settings.IMGWIRE_PUBLIC_SIGNUP = public_signup
    token = invite()
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    response = sign_up(Client(), invitation=token)
    assert response.status_code == 410
    assert b"This invitation has expired" in response.content
    assert not get_user_model().objects.filter(email="new@example.com").exists()


def test_an_invitation_only_remembered_from_an_earlier_visit_is_dropped_quietly(owner, invite):
    token = invite()
    client = Client()
    client.get(f"/accounts/invitations/{token}/")
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    page = client.get("/accounts/signup/")
    assert page.status_code == 200
    assert b'name="invitation" value=""' in page.content
    assert sign_up(client, invitation="").url == "/dashboard/"


# --- links that no longer work --------------------------------------------------------------


def test_a_used_link_says_it_was_used(owner, invite):
    token = invite()
    sign_up(Client(), invitation=token)
    response = Client().get(f"/accounts/invitations/{token}/")
    assert response.status_code == 410
    assert b"This invitation was already used" in response.content


def test_an_expired_link_says_until_when_it_was_valid_and_how_to_get_another(owner, invite):
    token = invite()
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    response = Client().get(f"/accounts/invitations/{token}/")
    assert response.status_code == 410
    assert b"This invitation has expired" in response.content
    assert b"resend it from the Team page" in response.content
    assert joined("new@example.com", owner) is None


def test_a_revoked_or_mistyped_link_says_it_does_not_work(owner, invite):
    token = invite()
    invitation = Invitation.objects.get()
    signed_in(owner.user).post(
        f"/dashboard/{owner.environment.id}/team/invitations/{invitation.id}/revoke/"
    )
    for link in (token, token[:-3]):
        response = Client().get(f"/accounts/invitations/{link}/")
        assert response.status_code == 404
        assert b"This invitation link does not work" in response.content


def test_of_two_tabs_accepting_at_once_one_joins_and_the_other_is_told(owner, invite):
    user = make_user("new@example.com")
    invite()
    first, second = Invitation.objects.get(), Invitation.objects.get()  # both read it pending
    invitation_accept(invitation=first, user=user)
    with pytest.raises(Refusal) as refused:
        invitation_accept(invitation=second, user=user)
    assert refused.value.code == domain.CONFLICT
    assert Membership.objects.filter(user=user).count() == 1


# --- the team page's pending list -----------------------------------------------------------


def test_the_pending_list_shows_the_emailed_link_copy_resend_revoke_and_expiry(
    owner, invite, settings
):
    token = invite()
    invitation = Invitation.objects.get()
    page = signed_in(owner.user).get(f"/dashboard/{owner.environment.id}/team/").content.decode()
    [listed] = re.findall(r'class="invitation-link"[^>]*value="([^"]+)"', page)
    assert listed == f"{settings.IMGWIRE_PUBLIC_URL}/accounts/invitations/{token}/"
    assert f'data-copy="link-{invitation.id}"' in page
    assert f"/team/invitations/{invitation.id}/resend/" in page
    assert f"/team/invitations/{invitation.id}/revoke/" in page
    expires = invitation.expires_at.astimezone(UTC)
    assert f"{expires.day} {expires:%b %Y, %H:%M} UTC" in page


def test_an_expired_invitation_stays_listed_as_expired_without_a_link(owner, invite):
    invite()
    Invitation.objects.update(expires_at=timezone.now() - timedelta(days=1))
    page = signed_in(owner.user).get(f"/dashboard/{owner.environment.id}/team/").content.decode()
    assert "Expired</strong> on" in page
    assert 'class="invitation-link"' not in page


def test_developers_see_neither_pending_invitations_nor_their_links(owner, developer, invite):
    token = invite()
    page = signed_in(developer).get(f"/dashboard/{owner.environment.id}/team/").content.decode()
    assert token not in page
    assert "new@example.com" not in page


def test_resending_emails_the_link_again_and_revives_an_expired_one(owner, invite):
    token = invite()
    Invitation.objects.update(expires_at=timezone.now() - timedelta(days=1))
    invitation = Invitation.objects.get()
    with_capture = signed_in(owner.user)
    response = with_capture.post(
        f"/dashboard/{owner.environment.id}/team/invitations/{invitation.id}/resend/",
        follow=True,
    )
    assert b"Invitation sent again to new@example.com" in response.content
    invitation.refresh_from_db()
    assert invitation.expires_at > timezone.now() + timedelta(days=6)
    assert Client().get(f"/accounts/invitations/{token}/").status_code == 200


def test_the_resent_email_carries_the_same_working_link(
    owner, invite, django_capture_on_commit_callbacks
):
    token = invite()
    invitation = Invitation.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        signed_in(owner.user).post(
            f"/dashboard/{owner.environment.id}/team/invitations/{invitation.id}/resend/"
        )
    assert len(mail.outbox) == 2
    assert mail.outbox[1].to == ["new@example.com"]
    assert f"/accounts/invitations/{token}/" in mail.outbox[1].body


def test_revoking_stops_the_link(owner, invite):
    token = invite()
    invitation = Invitation.objects.get()
    response = signed_in(owner.user).post(
        f"/dashboard/{owner.environment.id}/team/invitations/{invitation.id}/revoke/",
        follow=True,
    )
    assert b"Invitation revoked" in response.content
    assert not Invitation.objects.exists()
    assert Client().get(f"/accounts/invitations/{token}/").status_code == 404


def test_an_accepted_invitation_can_be_neither_resent_nor_revoked(owner, invite):
    sign_up(Client(), invitation=invite())
    invitation = Invitation.objects.get()
    client = signed_in(owner.user)
    base = f"/dashboard/{owner.environment.id}/team/invitations/{invitation.id}"
    assert b"already accepted or revoked" in client.post(f"{base}/resend/", follow=True).content
    assert b"already accepted or revoked" in client.post(f"{base}/revoke/", follow=True).content
    assert Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=False).exists()


@pytest.mark.parametrize(
    "role,expected", [("developer", 403), ("outsider", 404), ("anonymous", 302)]
)
def test_only_managers_of_the_organization_resend_or_revoke(owner, invite, as_role, role, expected):
    invite()
    invitation = Invitation.objects.get()
    sent = len(mail.outbox)
    client = as_role(role)
    base = f"/dashboard/{owner.environment.id}/team/invitations/{invitation.id}"
    assert client.post(f"{base}/resend/").status_code == expected
    assert client.post(f"{base}/revoke/").status_code == expected
    assert Invitation.objects.filter(pk=invitation.pk).exists()
    assert len(mail.outbox) == sent


def test_another_organizations_invitation_cannot_be_resent_or_revoked(owner, outsider, invite):
    invite()
    invitation = Invitation.objects.get()
    client = signed_in(outsider.user)
    base = f"/dashboard/{outsider.environment.id}/team/invitations/{invitation.id}"
    client.post(f"{base}/resend/")
    client.post(f"{base}/revoke/")
    assert Invitation.objects.filter(pk=invitation.pk).exists()
    assert len(mail.outbox) == 1


def test_the_team_page_costs_the_same_queries_with_many_invitations(owner, invite):
    client = signed_in(owner.user)
    url = f"/dashboard/{owner.environment.id}/team/"
    invite("first@example.com")
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(4):
        invite(f"more{n}@example.com")
    with CaptureQueriesContext(connection) as many:
        response = client.get(url)
    assert response.content.count(b'class="invitation-link"') == 5
    assert len(few) == len(many)


# --- duplicates -----------------------------------------------------------------------------


def test_inviting_an_existing_member_says_so_and_sends_nothing(owner, developer):
    response = signed_in(owner.user).post(
        f"/dashboard/{owner.environment.id}/team/invite/",
        {"email": "DEV@example.com", "role": "ADMIN"},
        follow=True,
    )
    assert b"dev@example.com is already a member of owner" in response.content
    assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_inviting_a_pending_address_in_another_case_says_so_and_sends_nothing(owner, invite):
    invite("new@example.com")
    response = signed_in(owner.user).post(
        f"/dashboard/{owner.environment.id}/team/invite/",
        {"email": "NEW@Example.COM", "role": "DEVELOPER"},
        follow=True,
    )
    assert b"new@example.com already has a pending invitation" in response.content
    assert Invitation.objects.count() == 1
    assert len(mail.outbox) == 1


def test_inviting_again_after_expiry_replaces_the_expired_invitation(owner, invite):
    old = invite("new@example.com")
    Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    new = invite("New@example.com")
    assert new != old
    assert Invitation.objects.count() == 1
    assert Client().get(f"/accounts/invitations/{new}/").status_code == 200
    assert Client().get(f"/accounts/invitations/{old}/").status_code == 404


def test_the_same_address_may_be_invited_to_two_organizations(owner, outsider, invite):
    invite("new@example.com")
    invite("new@example.com", tenant=outsider)
    assert Invitation.objects.filter(email="new@example.com").count() == 2


def test_invitations_accepted_past_the_plans_team_limit_are_refused_and_stay_usable(owner, invite):
    from environments.models import BillingPlan

    plan = BillingPlan.objects.create(name="Duo", teams_enabled=True, team_member_limit=2)
    owner.organization.billing_plan = plan
    owner.organization.save(update_fields=["billing_plan"])
    # Both invitations fit when sent: the owner is the only member then.
    tokens = {email: invite(email=email) for email in ("a@example.com", "b@example.com")}
    for email in tokens:
        make_user(email)
    accept = lambda email: signed_in(  # noqa: E731
        get_user_model().objects.get(email=email)
    ).post(f"/accounts/invitations/{tokens[email]}/", follow=True)
    assert b"You joined" in accept("a@example.com").content
    refused = accept("b@example.com").content.decode()
    assert "This organization has 2 of the 2 team members of the Duo plan" in refused
    assert "open this link again" in refused
    assert Membership.objects.filter(organization=owner.organization).count() == 2
    assert Invitation.objects.pending().filter(email="b@example.com").exists()
    plan.team_member_limit = 3
    plan.save(update_fields=["team_member_limit"])
    assert b"You joined" in accept("b@example.com").content
    assert Membership.objects.filter(organization=owner.organization).count() == 3
