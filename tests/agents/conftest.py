"""Agents' cast: a registered client and tokens issued the way the consent page issues them."""

import base64
import hashlib
import secrets
from datetime import timedelta

import pytest
from django.utils import timezone
from oauth2_provider.models import AccessToken, Application, set_token_value

from keys.oauth.models import AgentGrant

ALL_SCOPES = "images:read images:write settings:write"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def application_create(name="Assistant") -> Application:
    return Application.objects.create(
        name=name,
        client_type=Application.CLIENT_PUBLIC,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris="http://127.0.0.1:9/callback",
    )


def token_issue(
    *, user, environment, scopes=ALL_SCOPES, resource=None, expires_in=600, application=None
) -> str:
    """What consent + the code exchange leave behind: a grant and an access token."""
    application = application or application_create()
    AgentGrant.objects.update_or_create(
        user=user,
        application=application,
        defaults={
            "organization_id": environment.organization_id,
            "environment": environment,
            "scopes": scopes,
        },
    )
    raw = secrets.token_urlsafe(30)
    token = AccessToken(
        user=user,
        application=application,
        scope=scopes,
        expires=timezone.now() + timedelta(seconds=expires_in),
        resource=resource or [],
    )
    set_token_value(token, raw)  # as DOT stores it: the checksum only
    token.save()
    return raw


@pytest.fixture
def owner_token(owner):
    return token_issue(user=owner.user, environment=owner.environment)
