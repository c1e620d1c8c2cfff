"""Team services: invitations (hashed single-use tokens), role changes, removals.

Kept apart from ``environments.services`` so the dashboard's team rules live in one place;
memberships are still created through ``membership_create``.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from environments.models import Invitation, Membership, Role
from environments.services import membership_create

INVITATION_TTL = timedelta(days=7)


class TeamRuleError(ValueError):
    """A change that would break a team rule (e.g. leaving no OWNER)."""


def _token_hash(token: str) -> str:
    return hmac.new(
        settings.IMGWIRE_KEY_PEPPER.encode(), b"invitation:" + token.encode(), hashlib.sha256
    ).hexdigest()


def invitation_create(*, organization, email: str, role: str, invited_by) -> tuple:
    """Record the invitation and email its link; returns (invitation, token)."""
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
        lambda: send_mail(
            f"You are invited to {organization.name} on Imgwire",
            f"{invited_by.email or invited_by.username} invited you to join "
            f"{organization.name} as {role}.\n\nAccept within 7 days: {link}\n",
            None,
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


def _other_owners(membership: Membership) -> bool:
    return (
        Membership.objects.select_for_update()
        .filter(organization_id=membership.organization_id, role=Role.OWNER)
        .exclude(pk=membership.pk)
        .exists()
    )


@transaction.atomic
def membership_role_change(*, membership: Membership, role: str) -> Membership:
    if membership.role == Role.OWNER and role != Role.OWNER and not _other_owners(membership):
        raise TeamRuleError("An organization needs at least one owner; promote someone first.")
    return membership_create(organization=membership.organization, user=membership.user, role=role)


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    if membership.role == Role.OWNER and not _other_owners(membership):
        raise TeamRuleError("The last owner cannot be removed; promote someone else first.")
    membership.delete()
