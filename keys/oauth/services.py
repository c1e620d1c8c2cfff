"""Grants and the tokens that ride on them: record a consent, resolve a Bearer token to the
member acting through it (re-checking the membership every time), revoke."""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import AccessToken

from environments.models import Environment, Membership
from keys.oauth.models import AgentGrant
from keys.oauth.scopes import scopes_allowed_for_role, scopes_clean

# last_used_at is for people reading the connections page: minute precision is plenty and
# spares an UPDATE on every call.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def resources_served(base: str) -> frozenset[str]:
    """The RFC 8707 resource indicators our tokens may name at origin ``base``: the MCP
    server, the API, or the whole origin."""
    base = base.rstrip("/")
    return frozenset({f"{base}/mcp", f"{base}/api/v1", base})


@dataclass(frozen=True)
class AgentCredential:
    grant: AgentGrant
    membership: Membership
    scopes: frozenset[str]  # granted AND allowed by the member's current role

    @property
    def environment(self) -> Environment:
        return self.grant.environment


def environments_for_consent(user):
    return (
        Environment.objects.filter(organization__memberships__user=user)
        .select_related("organization")
        .order_by("organization__name", "name")
    )


@transaction.atomic
def grant_record(*, user, application, environment_id, scopes) -> AgentGrant | None:
    """The member's consent for ``application``: None when the environment is not theirs.

    One grant per member and client: consenting again replaces the environment and scopes,
    and tokens issued before follow the new grant (they are looked up through it)."""
    environment = environments_for_consent(user).filter(pk=environment_id).first()
    if environment is None:
        return None
    grant, _ = AgentGrant.objects.update_or_create(
        user=user,
        application=application,
        defaults={
            "organization_id": environment.organization_id,
            "environment": environment,
            "scopes": " ".join(scopes_clean(scopes)),
        },
    )
    return grant


def _token_row(token: str) -> AccessToken | None:
    if not token or len(token) > 512:
        return None
    checksum = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
    return (
        AccessToken.objects.select_related("application", "user")
        .filter(token_checksum=checksum)
        .first()
    )


def agent_token_resolve(*, token: str, resource: str) -> AgentCredential | None:
    """The member acting through this access token for ``resource``, or None (401).

    Expired, unknown, revoked, for another resource (RFC 8707), for a member who has left
    the organization or is inactive: all None, the same answer."""
    row = _token_row(token)
    if row is None or row.is_expired() or row.user is None or not row.user.is_active:
        return None
    if not row.allows_audience(resource):
        return None
    grant = (
        AgentGrant.objects.select_related("environment__organization", "application")
        .filter(user=row.user, application=row.application)
        .first()
    )
    if grant is None:
        return None
    membership = (
        Membership.objects.select_related("user")
        .filter(organization_id=grant.organization_id, user=row.user)
        .first()
    )
    if membership is None:
        return None
    scopes = (
        frozenset(row.scope.split())
        & frozenset(grant.scope_list)
        & scopes_allowed_for_role(membership.role)
    )
    now = timezone.now()
    if grant.last_used_at is None or now - grant.last_used_at > LAST_USED_RESOLUTION:
        AgentGrant.objects.filter(pk=grant.pk).update(last_used_at=now)
    return AgentCredential(grant=grant, membership=membership, scopes=scopes)


@transaction.atomic
def grant_revoke(*, user, grant_id) -> bool:
    """End the connection: the grant and every token of that client for this member."""
    grant = AgentGrant.objects.filter(user=user, pk=grant_id).first()
    if grant is None:
        return False
    grant.refresh_tokens().delete()
    grant.tokens().delete()
    grant.delete()
    return True


@transaction.atomic
def grants_revoke_all(*, user) -> int:
    """Sign the member's agents out everywhere (for a "sign out everywhere" action)."""
    count = 0
    for grant in AgentGrant.objects.filter(user=user):
        count += grant_revoke(user=user, grant_id=grant.pk)
    return count
