"""Invitations: invite (refusing duplicates), resend, revoke, look a link up (saying why it
no longer works), accept. The one place invitations change; ``environments.team`` keeps
the older names for the admin.

Only a keyed hash of a link's token is stored. The token itself is derived from the
invitation's id with the install's pepper, so an owner or admin can still copy the link
from the pending list; whoever could derive it already holds the pepper, which also signs
every upload token. Invitations made before this derivation carry a random token nobody
can show again: resending one moves it to a derived token (the old link stops working).
"""

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from environments.models import Invitation, Membership, Organization, Role
from environments.quotas import check_member_limit
from environments.services import membership_create
from imgwire_site import domain
from imgwire_site.dashboard_format import human_datetime
from imgwire_site.domain import Refusal
from imgwire_site.mail import send_mail_logged

INVITATION_TTL = timedelta(days=7)


def _token_hash(token: str) -> str:
    return hmac.new(
        settings.IMGWIRE_KEY_PEPPER.encode(), b"invitation:" + token.encode(), hashlib.sha256
    ).hexdigest()


def invitation_token_of(invitation_id) -> str:
    digest = hmac.new(
        settings.IMGWIRE_KEY_PEPPER.encode(),
        b"invitation-link:" + uuid.UUID(str(invitation_id)).bytes,
        hashlib.sha256,
    ).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def invitation_link_of(invitation: Invitation) -> str | None:
    """The acceptance link, or None for an invitation made with a random token."""
    token = invitation_token_of(invitation.id)
    if not hmac.compare_digest(_token_hash(token), invitation.token_hash):
        return None
    return f"{settings.IMGWIRE_PUBLIC_URL}/accounts/invitations/{token}/"


def _send(invitation: Invitation, *, sender) -> None:
    link = invitation_link_of(invitation)
    organization = invitation.organization
    inviter = (sender and (sender.email or sender.username)) or "An owner"
    role = invitation.get_role_display().lower()
    expires = human_datetime(invitation.expires_at)
    transaction.on_commit(
        lambda: send_mail_logged(
            f"You are invited to {organization.name} on Imgwire",
            f"{inviter} invited you to join {organization.name} as {role}.\n\n"
            f"Accept before {expires}: {link}\n\n"
            "No account yet? The link lets you create one with this address.\n",
            [invitation.email],
        )
    )


def _lock(organization) -> None:
    # Two owners inviting the same address at the same instant would both see "no pending
    # invitation"; the organization row lock makes the second one see the first.
    Organization.objects.select_for_update().filter(pk=organization.pk).first()


@transaction.atomic
def invitation_invite(*, organization, email: str, role: str, invited_by) -> Invitation:
    """Invite ``email`` (case-insensitive) with ``role`` and email the link after commit.

    Refuses (CONFLICT, field "email") an address that is already a member or already has a
    pending invitation, so nobody gets a second link by accident: resend instead. An expired
    invitation for the address is replaced."""
    email = email.strip().lower()
    _lock(organization)
    member = Membership.objects.filter(organization=organization).filter(
        Q(user__email__iexact=email) | Q(user__username__iexact=email)
    )
    if member.exists():
        raise Refusal(
            domain.CONFLICT, f"{email} is already a member of {organization.name}.", field="email"
        )
    same_address = Invitation.objects.filter(
        organization=organization, email__iexact=email, accepted_at__isnull=True
    )
    existing = same_address.filter(expires_at__gt=timezone.now()).first()
    if existing is not None:
        raise Refusal(
            domain.CONFLICT,
            f"{email} already has a pending invitation (until "
            f"{human_datetime(existing.expires_at)}): resend it or copy its link below.",
            field="email",
        )
    check_member_limit(organization)
    if role == Role.OWNER and not (
        invited_by is not None
        and Membership.objects.filter(
            organization=organization, user=invited_by, role=Role.OWNER
        ).exists()
    ):
        raise Refusal(
            domain.FORBIDDEN, "Only an owner can invite someone as an owner.", field="role"
        )
    same_address.delete()  # only expired ones are left: the new invitation replaces them
    invitation_id = uuid.uuid4()
    invitation = Invitation.objects.create(
        id=invitation_id,
        organization=organization,
        email=email,
        role=role,
        token_hash=_token_hash(invitation_token_of(invitation_id)),
        invited_by=invited_by,
        expires_at=timezone.now() + INVITATION_TTL,
    )
    _send(invitation, sender=invited_by)
    return invitation


@transaction.atomic
def invitation_resend(*, organization, invitation_id, sent_by) -> Invitation:
    """Email the link again with a fresh 7-day expiry (an expired invitation comes back)."""
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("organization")
        .filter(organization=organization, id=invitation_id, accepted_at__isnull=True)
        .first()
    )
    if invitation is None:
        raise Refusal(domain.NOT_FOUND, "This invitation was already accepted or revoked.")
    invitation.token_hash = _token_hash(invitation_token_of(invitation.id))
    invitation.expires_at = timezone.now() + INVITATION_TTL
    invitation.save(update_fields=["token_hash", "expires_at"])
    _send(invitation, sender=sent_by)
    return invitation


def invitation_revoke(*, organization, invitation_id, accepted_too: bool = False) -> bool:
    """Delete the invitation so its link stops working. False when there was nothing to
    revoke: an accepted one stays (it is the record of who joined) unless ``accepted_too``,
    the operator's delete in the admin."""
    invitations = Invitation.objects.filter(organization=organization, id=invitation_id)
    if not accepted_too:
        invitations = invitations.filter(accepted_at__isnull=True)
    deleted, _ = invitations.delete()
    return deleted > 0


def invitations_outstanding(organization) -> list[Invitation]:
    """Not accepted yet, newest first, each with its ``link`` (None for an old random
    token) and whether it ``expired``. Expired ones stay listed until resent or revoked:
    that is where the person who was too late gets a fresh link from. One query."""
    now = timezone.now()
    invitations = list(
        Invitation.objects.filter(organization=organization, accepted_at__isnull=True).order_by(
            "-created_at", "id"
        )
    )
    for invitation in invitations:
        invitation.link = invitation_link_of(invitation)
        invitation.expired = invitation.expires_at <= now
    return invitations


@dataclass(frozen=True)
class InvitationLookup:
    invitation: Invitation | None
    # "pending", "accepted", "expired" or "unknown" (revoked, mistyped or never made).
    state: str

    @property
    def usable(self) -> bool:
        return self.state == "pending"

    @property
    def account_exists(self) -> bool:
        return (
            self.invitation is not None
            and get_user_model()
            .objects.filter(
                Q(email__iexact=self.invitation.email) | Q(username__iexact=self.invitation.email)
            )
            .exists()
        )


def invitation_lookup(token: str) -> InvitationLookup:
    if not token or len(token) > 128:
        return InvitationLookup(None, "unknown")
    invitation = (
        Invitation.objects.select_related("organization", "invited_by")
        .filter(token_hash=_token_hash(token))
        .first()
    )
    if invitation is None:
        return InvitationLookup(None, "unknown")
    if invitation.accepted_at is not None:
        return InvitationLookup(invitation, "accepted")
    if invitation.expires_at <= timezone.now():
        return InvitationLookup(invitation, "expired")
    return InvitationLookup(invitation, "pending")


def invitation_by_token(token: str) -> Invitation | None:
    """The pending invitation of a link, or None."""
    lookup = invitation_lookup(token)
    return lookup.invitation if lookup.usable else None


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user) -> Membership:
    """Join the organization as ``user``. Refusal when the user's address is another one,
    or the invitation was used, revoked or expired in the meantime."""
    if (user.email or "").strip().lower() != invitation.email:
        raise Refusal(
            domain.FORBIDDEN,
            f"This invitation was sent to {invitation.email}; sign in with that address to "
            "accept it.",
        )
    # A conditional UPDATE claims it: of two tabs accepting at once, exactly one joins.
    claimed = (
        Invitation.objects.pending().filter(pk=invitation.pk).update(accepted_at=timezone.now())
    )
    if claimed != 1:
        raise Refusal(domain.CONFLICT, "This invitation was already used, revoked or expired.")
    existing = Membership.objects.filter(organization=invitation.organization, user=user).first()
    if existing is not None:
        return existing  # joining again never lowers (or raises) a current role
    # Invitations were checked against the plan one by one when sent; several accepted
    # together could pass it. The organization's row lock makes concurrent joins count one
    # after the other; a refusal rolls the claim back, so the link keeps working.
    organization = Organization.objects.select_for_update().get(pk=invitation.organization_id)
    check_member_limit(organization, joining=True)
    return membership_create(organization=organization, user=user, role=invitation.role)
