import re

from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from environments.models import Invitation, Membership, Role
from tests.dashboard.conftest import signed_in


def invite(
    owner, email="new@example.com", role="DEVELOPER", django_capture_on_commit_callbacks=None
):
    client = signed_in(owner.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/dashboard/{owner.environment.id}/team/invite/", {"email": email, "role": role}
        )
    assert response.status_code == 302
    return re.search(r"/accounts/invitations/([^/]+)/", mail.outbox[-1].body).group(1)


def test_an_invitation_is_emailed_and_only_its_hash_is_stored(
    owner, django_capture_on_commit_callbacks
):
    token = invite(owner, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    invitation = Invitation.objects.get()
    assert mail.outbox[0].to == ["new@example.com"]
    assert token not in invitation.token_hash
    assert invitation.role == Role.DEVELOPER


def test_the_invited_person_signs_up_and_joins_with_the_role(
    owner, django_capture_on_commit_callbacks, settings
):
    settings.IMGWIRE_PUBLIC_SIGNUP = False
    token = invite(
        owner, role="ADMIN", django_capture_on_commit_callbacks=django_capture_on_commit_callbacks
    )
    client = Client()
    response = client.post(
        "/accounts/signup/",
        {
            "email": "new@example.com",
            "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase",
            "invitation": token,
        },
    )
    # Creating the account from the link joins at once, landing in the organization.
    assert response.url == f"/dashboard/{owner.environment.id}/"
    user = get_user_model().objects.get(email="new@example.com")
    assert Membership.objects.get(user=user).role == Role.ADMIN
    assert client.post(f"/accounts/invitations/{token}/").status_code == 410  # used


def test_an_invitation_for_another_email_is_refused(
    owner, outsider, django_capture_on_commit_callbacks
):
    token = invite(owner, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    client = signed_in(outsider.user)
    response = client.post(f"/accounts/invitations/{token}/", follow=True)
    assert b"was sent to new@example.com" in response.content
    assert not Membership.objects.filter(
        user=outsider.user, organization=owner.organization
    ).exists()


def test_an_unknown_invitation_token_is_not_found(owner):
    assert signed_in(owner.user).get("/accounts/invitations/nope/").status_code == 404


def test_an_owner_changes_a_role_and_removes_a_member(owner, developer):
    client = signed_in(owner.user)
    membership = developer.memberships.get()
    env = owner.environment.id
    client.post(f"/dashboard/{env}/team/{membership.id}/role/", {"role": "ADMIN"})
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN
    client.post(f"/dashboard/{env}/team/{membership.id}/remove/")
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_the_last_owner_can_be_neither_demoted_nor_removed(owner):
    client = signed_in(owner.user)
    membership = owner.user.memberships.get()
    env = owner.environment.id
    response = client.post(
        f"/dashboard/{env}/team/{membership.id}/role/", {"role": "ADMIN"}, follow=True
    )
    assert b"at least one owner" in response.content
    response = client.post(f"/dashboard/{env}/team/{membership.id}/remove/", follow=True)
    assert b"last owner cannot be removed" in response.content
    membership.refresh_from_db()
    assert membership.role == Role.OWNER


def test_members_of_another_organization_cannot_be_changed(owner, outsider):
    theirs = outsider.user.memberships.get()
    response = signed_in(owner.user).post(
        f"/dashboard/{owner.environment.id}/team/{theirs.id}/remove/"
    )
    assert response.status_code == 404
    assert Membership.objects.filter(pk=theirs.pk).exists()


def test_with_sign_up_closed_an_invitation_admits_only_its_own_address(
    owner, django_capture_on_commit_callbacks, settings
):
    settings.IMGWIRE_PUBLIC_SIGNUP = False
    token = invite(owner, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    response = Client().post(
        "/accounts/signup/",
        {
            "email": "someone-else@example.com",
            "password1": "a-long-pass-phrase",
            "password2": "a-long-pass-phrase",
            "invitation": token,
        },
    )
    assert b"This invitation is for new@example.com" in response.content
    assert not get_user_model().objects.filter(email="someone-else@example.com").exists()
