"""Scopes map onto roles: a token's effective scopes are what it was granted AND what the
member's role allows right now (read from the membership on every request)."""

from environments.models import MANAGING_ROLES

IMAGES_READ = "images:read"
IMAGES_WRITE = "images:write"
SETTINGS_WRITE = "settings:write"

SCOPES = {
    IMAGES_READ: "Read images, their metadata and metrics",
    IMAGES_WRITE: "Upload, tag and delete images, create bulk downloads",
    SETTINGS_WRITE: "Manage settings: CORS origins, domains, keys and webhooks",
}

ROLE_SCOPES_DEVELOPER = frozenset({IMAGES_READ, IMAGES_WRITE})


def scopes_allowed_for_role(role: str) -> frozenset[str]:
    if role in MANAGING_ROLES:
        return frozenset(SCOPES)
    return ROLE_SCOPES_DEVELOPER


def scopes_clean(raw) -> list[str]:
    """Known scopes only, in a stable order (unknown ones are dropped, not granted)."""
    asked = set(raw.split() if isinstance(raw, str) else raw or [])
    return [scope for scope in SCOPES if scope in asked]
