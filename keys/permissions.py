from rest_framework.permissions import BasePermission

from imgwire_site.api.errors import InvalidTokenError, OperationNotAllowedError
from keys.authentication import SAFE_METHODS, Access


def _access(request) -> Access:
    access = request.auth
    if not isinstance(access, Access):
        raise InvalidTokenError()
    return access


def _writes_images(request, access: Access) -> None:
    """The image views' writes need ``images:write`` from an agent (keys/oauth/scopes.py)."""
    if request.method not in SAFE_METHODS and not access.may_write_images:
        raise OperationNotAllowedError(
            "This connection was not granted images:write; reconnect the agent and allow "
            "managing images."
        )


class ServerKeyOrMember(BasePermission):
    """Server API keys and dashboard members; Client keys are refused."""

    def has_permission(self, request, view):
        access = _access(request)
        if access.is_client_key:
            raise OperationNotAllowedError(
                "Client Keys may only create standard uploads and read images; "
                "use a Server API Key for this operation."
            )
        _writes_images(request, access)
        return True


class AnyKeyOrMember(BasePermission):
    """Server keys, Client keys and members (standard upload, image lookup)."""

    def has_permission(self, request, view):
        _writes_images(request, _access(request))
        return True


class ManagerOnly(BasePermission):
    """OWNER/ADMIN members or a Server key (keys, members, domains, CORS, environments)."""

    def has_permission(self, request, view):
        access = _access(request)
        if access.is_client_key or not access.can_manage:
            raise OperationNotAllowedError(
                "Only organization owners and admins (or a Server API Key) may do this."
            )
        return True
