"""Who is calling and in which environment.

Every authenticated API request carries an ``Access`` as ``request.auth``: the environment
the call is scoped to and the credential (an API key, or a dashboard member's session).
"""

import uuid
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from rest_framework.authentication import BaseAuthentication, SessionAuthentication

from environments.models import MANAGING_ROLES, Environment, Membership
from imgwire_site.api.errors import (
    InvalidTokenError,
    OperationNotAllowedError,
    ResourceNotAuthorizedError,
)
from keys.models import ApiKey
from keys.services import api_key_authenticate


@dataclass(frozen=True)
class Access:
    environment: Environment
    key: ApiKey | None = None
    membership: Membership | None = None
    # An OAuth-linked agent's effective scopes (keys/oauth/scopes.py); None for keys/sessions.
    scopes: frozenset[str] | None = None

    @property
    def is_server_key(self) -> bool:
        return self.key is not None and self.key.is_server

    @property
    def is_client_key(self) -> bool:
        return self.key is not None and not self.key.is_server

    @property
    def may_write_images(self) -> bool:
        """Keys and sessions by their role; an agent only with the ``images:write`` scope
        (``settings:write`` alone manages settings, it does not upload or delete)."""
        return self.scopes is None or "images:write" in self.scopes

    @property
    def can_manage(self) -> bool:
        """Keys, members, domains, CORS and environments: OWNER/ADMIN or a Server key."""
        if self.key is not None:
            return self.key.is_server
        if self.scopes is not None and "settings:write" not in self.scopes:
            return False
        return self.membership is not None and self.membership.role in MANAGING_ROLES


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise InvalidTokenError("Send the API key as 'Authorization: Bearer <key>'.")
        key = api_key_authenticate(token)
        if key is None:
            agent = oauth_access(request, token)
            if agent is not None:
                return agent
            raise InvalidTokenError("The API key is not valid, or it has been revoked.")
        return AnonymousUser(), Access(environment=key.environment, key=key)

    def authenticate_header(self, request):
        return 'Bearer realm="imgwire"'


def oauth_access(request, token: str):
    """An OAuth-linked agent's access token (keys/oauth/): the member it acts for, in the
    environment of its grant, which ``X-Environment-Id`` must name. None: not such a token."""
    from keys.oauth.services import agent_token_resolve  # the agents app loads after keys

    credential = agent_token_resolve(
        token=token, resource=request.build_absolute_uri("/api/v1").rstrip("/")
    )
    if credential is None:
        return None
    raw = request.META.get("HTTP_X_ENVIRONMENT_ID", "")
    try:
        environment_id = uuid.UUID(raw)
    except ValueError:
        raise ResourceNotAuthorizedError(
            "Send the X-Environment-Id header with the id of an environment you belong to."
        ) from None
    if environment_id != credential.environment.id:
        # Same answer as a session for "no such environment" and "not yours".
        raise ResourceNotAuthorizedError(
            "X-Environment-Id does not name an environment you are a member of."
        )
    if request.method not in SAFE_METHODS and not credential.scopes & WRITE_SCOPES:
        raise OperationNotAllowedError("This connection was granted read access only.")
    access = Access(
        environment=credential.environment,
        membership=credential.membership,
        scopes=credential.scopes,
    )
    return credential.membership.user, access


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
WRITE_SCOPES = frozenset({"images:write", "settings:write"})


class DashboardSessionAuthentication(SessionAuthentication):
    """A signed-in member, acting in the environment named by ``X-Environment-Id``."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, _ = result
        raw = request.META.get("HTTP_X_ENVIRONMENT_ID", "")
        try:
            environment_id = uuid.UUID(raw)
        except ValueError:
            raise ResourceNotAuthorizedError(
                "Send the X-Environment-Id header with the id of an environment you belong to."
            ) from None
        environment = (
            Environment.objects.select_related("organization").filter(pk=environment_id).first()
        )
        membership = None
        if environment is not None:
            membership = Membership.objects.filter(
                organization_id=environment.organization_id, user=user
            ).first()
        if membership is None:
            # Same answer for "no such environment" and "not yours": no existence leak.
            raise ResourceNotAuthorizedError(
                "X-Environment-Id does not name an environment you are a member of."
            )
        return user, Access(environment=environment, membership=membership)
