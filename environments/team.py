"""Team services: invitations (hashed single-use tokens), role changes, removals.

Kept apart from ``environments.services`` so the dashboard's team rules live in one place;
memberships are still created through ``membership_create``.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from environments.models import MANAGING_ROLES, Invitation, Membership, Organization, Role
from environments.services import membership_create
from imgwire_site.mail import send_mail_logged

INVITATION_TTL = timedelta(days=7)


class TeamRuleError(ValueError):
    """A change that would break a team rule (e.g. leaving no OWNER)."""


def _token_hash(token: str) -> str:
    return hmac.new(
        settings.IMGWIRE_KEY_PEPPER.encode(), b"invitation:" + token.encode(), hashlib.sha256
    ).hexdigest()


def invitation_create(*, organization, email: str, role: str, invited_by) -> tuple:
    """Record the invitation and email its link; returns (invitation, token).

    Inviting someone as OWNER grants OWNER, so only an owner may do it."""
    if role == Role.OWNER and not (
        invited_by is not None
        and Membership.objects.filter(
            organization=organization, user=invited_by, role=Role.OWNER
        ).exists()
    ):
        raise TeamRuleError("Only an owner can invite someone as an owner.")
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        organization=organization,
        email=email.strip().lower(),
        role=role,
        token_hash=_token_hash(token),
        invited_by=invited_by,
        expires_at=timezone.now() + INVITATION_TTL,
    )
    link = f"{settings.IMGWIRE_PUBLIC_URL}/accounts/invitations/{token}/"
    transaction.on_commit(
        lambda: send_mail_logged(
            f"You are invited to {organization.name} on Imgwire",
            f"{invited_by.email or invited_by.username} invited you to join "
            f"{organization.name} as {role}.\n\nAccept within 7 days: {link}\n",
            [invitation.email],
        )
    )
    return invitation, token


def invitation_by_token(token: str) -> Invitation | None:
    if not token or len(token) > 128:
        return None
    return (
        Invitation.objects.pending()
        .select_related("organization")
        .filter(token_hash=_token_hash(token))
        .first()
    )


@transaction.atomic
def invitation_accept_for_user(*, invitation: Invitation, user) -> Membership | None:
    """None when the signed-in user's email is not the invited one."""
    if (user.email or "").strip().lower() != invitation.email:
        return None
    claimed = (
        Invitation.objects.pending().filter(pk=invitation.pk).update(accepted_at=timezone.now())
    )
    if claimed != 1:
        return None
    existing = Membership.objects.filter(organization=invitation.organization, user=user).first()
    if existing is not None:
        return existing  # joining again never lowers (or raises) a current role
    return membership_create(organization=invitation.organization, user=user, role=invitation.role)


def invitation_revoke(*, organization, invitation_id) -> None:
    Invitation.objects.filter(organization=organization, id=invitation_id).delete()


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
