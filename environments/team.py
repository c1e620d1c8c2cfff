"""Team services: role changes, removals and leaving, serialised per organization.

Invitations live in ``environments.invitations``; the names the admin and older callers
import from here stay as thin aliases of it.
"""

from django.db import transaction

from environments import invitations
from environments.invitations import invitation_by_token  # noqa: F401  (older callers)
from environments.models import MANAGING_ROLES, Membership, Organization, Role
from imgwire_site import domain
from imgwire_site.domain import Refusal


class TeamRuleError(ValueError):
    """A change that would break a team rule (e.g. leaving no OWNER)."""


def invitation_create(*, organization, email: str, role: str, invited_by) -> tuple:
    """(invitation, token): ``invitations.invitation_invite`` with the link's token."""
    invitation = invitations.invitation_invite(
        organization=organization, email=email, role=role, invited_by=invited_by
    )
    return invitation, invitations.invitation_token_of(invitation.id)


def invitation_revoke(*, organization, invitation_id) -> None:
    """The operator's delete (the admin): accepted invitations go too."""
    invitations.invitation_revoke(
        organization=organization, invitation_id=invitation_id, accepted_too=True
    )


class Operator:
    """The operator of the install (Django admin staff): not a member of the organization,
    trusted with every role, still bound by the last-owner rule."""

    def __repr__(self) -> str:
        return "OPERATOR"


# An explicit sentinel rather than None: a view that lost its membership must not get the
# operator's powers by accident.
OPERATOR = Operator()


def _locked_team(membership: Membership, actor) -> tuple[Membership, object]:
    """Re-read the target and the actor under a lock on the organization row.

    Every role change and removal of one organization takes this lock, so two owners who
    demote each other at the same instant cannot both see "another owner" and leave none;
    the roles checked are the committed ones, not what a stale page showed.
    """
    Organization.objects.select_for_update().filter(pk=membership.organization_id).first()
    current = Membership.objects.select_related("user").filter(pk=membership.pk).first()
    if current is None:
        raise TeamRuleError("This member has already left the organization.")
    if actor is OPERATOR:
        return current, actor
    if not isinstance(actor, Membership):
        raise TypeError("actor must be the acting Membership or team.OPERATOR")
    acting = Membership.objects.filter(pk=actor.pk, organization_id=current.organization_id).first()
    if acting is None or acting.role not in MANAGING_ROLES:
        raise TeamRuleError("Only owners and admins may change the team.")
    return current, acting


def _owners_besides(membership: Membership) -> bool:
    return (
        Membership.objects.filter(organization_id=membership.organization_id, role=Role.OWNER)
        .exclude(pk=membership.pk)
        .exists()
    )


def _is_owner(actor) -> bool:
    return actor is OPERATOR or actor.role == Role.OWNER


@transaction.atomic
def membership_role_change(*, membership: Membership, role: str, actor) -> Membership:
    """Give ``membership`` the ``role``, as ``actor`` (the acting Membership, or OPERATOR).

    Only an owner grants OWNER or changes an owner's role; nobody changes their own role;
    the organization's last owner stays an owner.
    """
    if role not in Role.values:
        raise TeamRuleError("Choose OWNER, ADMIN or DEVELOPER.")
    membership, actor = _locked_team(membership, actor)
    if Role.OWNER in (role, membership.role) and not _is_owner(actor):
        raise TeamRuleError("Only an owner can grant the owner role or change an owner's role.")
    if membership.role == Role.OWNER and role != Role.OWNER and not _owners_besides(membership):
        raise TeamRuleError("An organization needs at least one owner; promote someone first.")
    if actor is not OPERATOR and actor.pk == membership.pk:
        raise TeamRuleError("You cannot change your own role; ask another owner.")
    if membership.role != role:
        membership.role = role
        membership.save(update_fields=["role", "updated_at"])
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, actor) -> None:
    """Remove ``membership`` (leaving, when it is the actor's own). Only an owner removes an
    owner; the last owner can neither be removed nor leave."""
    membership, actor = _locked_team(membership, actor)
    if membership.role == Role.OWNER:
        if not _is_owner(actor):
            raise TeamRuleError("Only an owner can remove an owner.")
        if not _owners_besides(membership):
            raise TeamRuleError("The last owner cannot be removed; promote someone else first.")
    membership.delete()


@transaction.atomic
def membership_leave(*, membership: Membership) -> None:
    """Leave the organization, in any role. The last OWNER cannot: nobody would be left to
    manage owners. Takes the same organization lock as role changes, so an owner leaving
    while the other owner is demoted cannot leave none."""
    Organization.objects.select_for_update().filter(pk=membership.organization_id).first()
    current = Membership.objects.filter(pk=membership.pk).first()
    if current is None:
        return  # already gone: leaving twice is leaving
    if current.role == Role.OWNER and not _owners_besides(current):
        raise Refusal(
            domain.CONFLICT,
            "You are the last owner: make another member an owner before you leave.",
        )
    current.delete()
