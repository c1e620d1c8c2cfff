"""Who may change which role, through the team page's own forms (CSRF enforced).

The rules: only an OWNER grants OWNER or demotes/removes an OWNER; nobody changes their own
role; the last OWNER stays.
"""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from environments.models import Invitation, Membership, Role
from environments.services import membership_create
from environments.team import (
    OPERATOR,
    TeamRuleError,
    membership_remove,
    membership_role_change,
)


class TeamPage:
    """A signed-in browser that submits the team page's forms as rendered, with their
    CSRF token (the client enforces CSRF checks like a real browser session)."""

    def __init__(self, user, environment):
        self.client = Client(enforce_csrf_checks=True)
        self.client.force_login(user)
        self.base = f"/dashboard/{environment.id}/team/"

    def _form(self, action: str) -> str:
        page = self.client.get(self.base)
        assert page.status_code == 200
        html = page.content.decode()
        form = re.search(rf'<form[^>]*action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S)
        assert form, f"the team page has no form for {action}"
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.group(1)).group(1)

    def submit(self, action: str, **fields):
        token = self._form(action)
        return self.client.post(action, {"csrfmiddlewaretoken": token, **fields}, follow=True)

    def change_role(self, membership, role: str):
        return self.submit(f"{self.base}{membership.id}/role/", role=role)

    def remove(self, membership):
        return self.submit(f"{self.base}{membership.id}/remove/")

    def invite(self, email: str, role: str):
        return self.submit(f"{self.base}invite/", email=email, role=role)


def _member(owner, name: str, role: str) -> Membership:
    user = get_user_model().objects.create_user(
        username=f"{name}@example.com", email=f"{name}@example.com", password="pw-" + name * 3
    )
    return membership_create(organization=owner.organization, user=user, role=role)


@pytest.fixture
def owner_membership(owner) -> Membership:
    return owner.user.memberships.get()


@pytest.fixture
def admin_membership(owner) -> Membership:
    return _member(owner, "admin", Role.ADMIN)


def _role(membership) -> str | None:
    row = Membership.objects.filter(pk=membership.pk).first()
    return row and row.role


def test_it_refuses_an_admin_who_promotes_themself_to_owner(owner, admin_membership):
    page = TeamPage(admin_membership.user, owner.environment)
    response = page.change_role(admin_membership, "OWNER")
    assert b"Only an owner can grant the owner role" in response.content
    assert _role(admin_membership) == Role.ADMIN


def test_it_refuses_an_admin_who_demotes_the_owner(owner, owner_membership, admin_membership):
    page = TeamPage(admin_membership.user, owner.environment)
    response = page.change_role(owner_membership, "DEVELOPER")
    assert b"Only an owner can" in response.content
    assert _role(owner_membership) == Role.OWNER


def test_it_refuses_an_admin_who_removes_an_owner(owner, owner_membership, admin_membership):
    second = _member(owner, "second", Role.OWNER)  # not the last owner: the role rule alone
    page = TeamPage(admin_membership.user, owner.environment)
    response = page.remove(second)
    assert b"Only an owner can remove an owner" in response.content
    assert _role(second) == Role.OWNER


def test_it_refuses_an_admin_who_grants_owner_to_someone_else(owner, admin_membership, developer):
    target = developer.memberships.get()
    response = TeamPage(admin_membership.user, owner.environment).change_role(target, "OWNER")
    assert b"Only an owner can grant the owner role" in response.content
    assert _role(target) == Role.DEVELOPER


def test_it_refuses_an_admin_who_invites_an_owner(owner, admin_membership):
    response = TeamPage(admin_membership.user, owner.environment).invite("x@example.com", "OWNER")
    assert b"Only an owner can invite someone as an owner" in response.content
    assert not Invitation.objects.exists()


def test_it_refuses_an_admin_who_changes_their_own_role(owner, admin_membership):
    page = TeamPage(admin_membership.user, owner.environment)
    response = page.change_role(admin_membership, "DEVELOPER")
    assert b"cannot change your own role" in response.content
    assert _role(admin_membership) == Role.ADMIN


def test_an_admin_still_manages_developers_and_admins(owner, admin_membership, developer):
    target = developer.memberships.get()
    page = TeamPage(admin_membership.user, owner.environment)
    response = page.change_role(target, "ADMIN")
    assert b"is now ADMIN" in response.content
    assert _role(target) == Role.ADMIN
    page.remove(target)
    assert _role(target) is None


def test_an_owner_grants_owner_and_the_new_owner_can_then_demote_the_first(
    owner, owner_membership, admin_membership
):
    TeamPage(owner.user, owner.environment).change_role(admin_membership, "OWNER")
    assert _role(admin_membership) == Role.OWNER
    response = TeamPage(admin_membership.user, owner.environment).change_role(
        owner_membership, "ADMIN"
    )
    assert b"is now ADMIN" in response.content
    assert _role(owner_membership) == Role.ADMIN


def test_it_refuses_an_owner_who_changes_their_own_role_even_with_another_owner(
    owner, owner_membership
):
    _member(owner, "second", Role.OWNER)
    response = TeamPage(owner.user, owner.environment).change_role(owner_membership, "ADMIN")
    assert b"cannot change your own role" in response.content
    assert _role(owner_membership) == Role.OWNER


def test_the_last_owner_cannot_leave(owner, owner_membership):
    response = TeamPage(owner.user, owner.environment).remove(owner_membership)
    assert b"last owner cannot be removed" in response.content
    assert _role(owner_membership) == Role.OWNER


def test_an_owner_may_leave_while_another_owner_stays(owner, owner_membership):
    second = _member(owner, "second", Role.OWNER)
    TeamPage(owner.user, owner.environment).remove(owner_membership)
    assert _role(owner_membership) is None
    assert _role(second) == Role.OWNER


def test_a_demoted_admin_acting_from_a_stale_page_is_refused(owner, admin_membership, developer):
    target = developer.memberships.get()
    page = TeamPage(admin_membership.user, owner.environment)
    token = page._form(f"{page.base}{target.id}/role/")
    membership_role_change(membership=admin_membership, role=Role.DEVELOPER, actor=OPERATOR)
    response = page.client.post(
        f"{page.base}{target.id}/role/", {"csrfmiddlewaretoken": token, "role": "ADMIN"}
    )
    assert response.status_code == 403
    assert _role(target) == Role.DEVELOPER


def test_the_operator_may_grant_owner_but_not_remove_the_last_owner(owner, owner_membership):
    admin = _member(owner, "admin", Role.ADMIN)
    membership_role_change(membership=admin, role=Role.OWNER, actor=OPERATOR)
    assert _role(admin) == Role.OWNER
    membership_remove(membership=admin, actor=OPERATOR)
    with pytest.raises(TeamRuleError, match="last owner"):
        membership_remove(membership=owner_membership, actor=OPERATOR)
    with pytest.raises(TeamRuleError, match="at least one owner"):
        membership_role_change(membership=owner_membership, role=Role.ADMIN, actor=OPERATOR)
    assert _role(owner_membership) == Role.OWNER


def test_a_member_of_another_organization_cannot_act(owner, outsider, admin_membership):
    theirs = outsider.user.memberships.get()
    with pytest.raises(TeamRuleError, match="Only owners and admins"):
        membership_role_change(membership=admin_membership, role=Role.DEVELOPER, actor=theirs)
    assert _role(admin_membership) == Role.ADMIN


def test_the_service_demands_an_explicit_actor(owner, admin_membership):
    with pytest.raises(TypeError):
        membership_role_change(membership=admin_membership, role=Role.DEVELOPER, actor=None)
    assert _role(admin_membership) == Role.ADMIN
