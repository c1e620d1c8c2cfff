"""Operators edit teams in the Django admin (the organization's membership inline, and
user deletion) only through the team services: the last owner stays, limits hold."""

import pytest
from django.contrib.auth import get_user_model

from environments.models import BillingPlan, Membership, Organization, Role
from environments.services import organization_update
from tests.environments.test_admin import ORGANIZATIONS, change_form

pytestmark = pytest.mark.django_db

USERS = "/admin/auth/user/"


@pytest.fixture
def operator(client):
    user = get_user_model().objects.create_superuser(
        username="operator", email="operator@example.com", password="pw-operator"
    )
    client.force_login(user)
    return client


def team_form(organization: Organization, roles: dict, *, deleted=(), added=(), **overrides):
    """The change form with the membership inline: ``roles`` maps each existing membership
    to the role posted for it; ``added`` holds (user, role) rows."""
    data = change_form(organization, **overrides)
    memberships = list(Membership.objects.filter(organization=organization))
    rows = [
        {
            "id": str(m.id),
            "organization": str(organization.id),
            "user": str(m.user_id),
            "role": roles.get(m, m.role),
            **({"DELETE": "on"} if m in deleted else {}),
        }
        for m in memberships
    ]
    rows += [{"organization": str(organization.id), "user": str(u.id), "role": r} for u, r in added]
    data.update(
        {
            "memberships-TOTAL_FORMS": str(len(rows)),
            "memberships-INITIAL_FORMS": str(len(memberships)),
        }
    )
    for index, row in enumerate(rows):
        data.update({f"memberships-{index}-{name}": value for name, value in row.items()})
    return data


def membership_of(organization, user) -> Membership:
    return Membership.objects.get(organization=organization, user=user)


def post_team(client, organization, *args, **kwargs):
    return client.post(
        f"{ORGANIZATIONS}{organization.id}/change/",
        team_form(organization, *args, **kwargs),
        follow=True,
    )


def test_the_inline_cannot_demote_the_last_owner_and_nothing_of_the_submission_is_saved(
    operator, owner
):
    mine = membership_of(owner.organization, owner.user)
    response = post_team(operator, owner.organization, {mine: Role.ADMIN}, name="Renamed")
    assert "Nothing was saved: An organization needs at least one owner" in (
        response.content.decode()
    )
    mine.refresh_from_db()
    owner.organization.refresh_from_db()
    assert mine.role == Role.OWNER
    assert owner.organization.name == "owner"  # the organization's change rolled back too


def test_the_inline_cannot_remove_the_last_owner(operator, owner):
    mine = membership_of(owner.organization, owner.user)
    response = post_team(operator, owner.organization, {}, deleted=[mine])
    assert "The last owner cannot be removed" in response.content.decode()
    assert Membership.objects.filter(pk=mine.pk).exists()


def test_an_operator_promotes_a_member_and_demotes_the_old_owner_in_one_submission(
    operator, owner, developer
):
    old = membership_of(owner.organization, owner.user)
    new = membership_of(owner.organization, developer)
    response = post_team(operator, owner.organization, {old: Role.DEVELOPER, new: Role.OWNER})
    assert response.redirect_chain[-1][0] == ORGANIZATIONS
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.role, new.role) == (Role.DEVELOPER, Role.OWNER)


def test_an_operator_removes_a_member(operator, owner, developer):
    theirs = membership_of(owner.organization, developer)
    post_team(operator, owner.organization, {}, deleted=[theirs])
    assert not Membership.objects.filter(pk=theirs.pk).exists()


def test_an_operator_adds_a_member_within_the_plans_team_limit(operator, owner):
    newcomer = get_user_model().objects.create_user(username="new@example.com")
    plan = BillingPlan.objects.create(name="Solo", team_member_limit=1)
    organization_update(organization=owner.organization, billing_plan=plan)
    full = post_team(operator, owner.organization, {}, added=[(newcomer, Role.ADMIN)])
    assert "1 of the 1 team members of the Solo plan" in full.content.decode()
    assert not Membership.objects.filter(user=newcomer).exists()
    organization_update(organization=owner.organization, billing_plan=None)
    post_team(operator, owner.organization, {}, added=[(newcomer, Role.ADMIN)])
    assert membership_of(owner.organization, newcomer).role == Role.ADMIN


def test_a_membership_cannot_be_handed_to_another_user(operator, owner, developer):
    stranger = get_user_model().objects.create_user(username="stranger@example.com")
    theirs = membership_of(owner.organization, developer)
    data = team_form(owner.organization, {})
    row = next(k for k, v in data.items() if v == str(theirs.id)).removesuffix("-id")
    data[f"{row}-user"] = str(stranger.id)
    response = operator.post(f"{ORGANIZATIONS}{owner.organization.id}/change/", data, follow=True)
    assert "cannot be handed to another user" in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.user == developer


def test_organizations_are_not_deleted_in_the_admin(operator, owner):
    url = f"{ORGANIZATIONS}{owner.organization.id}/delete/"
    assert operator.get(url).status_code == 403
    assert Organization.objects.filter(pk=owner.organization.pk).exists()


def test_deleting_the_user_who_is_an_organizations_last_owner_is_refused(operator, owner):
    from_page = operator.post(f"{USERS}{owner.user.id}/delete/", {"post": "yes"}, follow=True)
    assert get_user_model().objects.filter(pk=owner.user.pk).exists()
    assert "Nothing was deleted: The last owner cannot be removed" in from_page.content.decode()
    action = operator.post(
        USERS,
        {"action": "delete_selected", "_selected_action": [owner.user.id], "confirm": "yes"},
        follow=True,
    )
    assert get_user_model().objects.filter(pk=owner.user.pk).exists()
    assert "Refused: owner@example.com: The last owner cannot be removed" in (
        action.content.decode()
    )
    assert membership_of(owner.organization, owner.user).role == Role.OWNER


def test_deleting_a_user_asks_first_then_removes_their_memberships(operator, owner, developer):
    selected = {"action": "delete_selected", "_selected_action": [developer.id]}
    asked = operator.post(USERS, selected)
    assert "Delete these users?" in asked.content.decode()
    assert get_user_model().objects.filter(pk=developer.pk).exists()
    done = operator.post(USERS, {**selected, "confirm": "yes"}, follow=True)
    assert "Deleted 1 user(s)." in done.content.decode()
    assert not get_user_model().objects.filter(pk=developer.pk).exists()
    assert not Membership.objects.filter(
        organization=owner.organization, user_id=developer.pk
    ).exists()
