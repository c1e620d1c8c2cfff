"""Who is calling and in which environment.

Every authenticated API request carries an ``Access`` as ``request.auth``: the environment
the call is scoped to and the credential (an API key, or a dashboard member's session).
"""

import uuid
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from rest_framework.authentication import BaseAuthentication, SessionAuthentication

from environments.models import MANAGING_ROLES, Environment, Membership
from imgwire_site.api.errors import InvalidTokenError, ResourceNotAuthorizedError
from keys.models import ApiKey
from keys.services import api_key_authenticate


@dataclass(frozen=True)
class Access:
    environment: Environment
    key: ApiKey | None = None
    membership: Membership | None = None

    @property
    def is_server_key(self) -> bool:
        return self.key is not None and self.key.is_server

    @property
    def is_client_key(self) -> bool:
        return self.key is not None and not self.key.is_server

    @property
    def can_manage(self) -> bool:
        """Keys, members, domains, CORS and environments: OWNER/ADMIN or a Server key."""
        if self.key is not None:
            return self.key.is_server
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
            raise InvalidTokenError("The API key is not valid, or it has been revoked.")
        return AnonymousUser(), Access(environment=key.environment, key=key)

    def authenticate_header(self, request):
        return 'Bearer realm="imgwire"'


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
