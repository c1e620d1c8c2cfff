"""Where a member is signed in: dashboard sessions and authorised agents, and ending all
of them at once ("Sign out everywhere" on the Authorized Connections page)."""

from importlib import import_module

from django.conf import settings
from django.db import transaction

from keys.oauth.models import SignedInSession
from keys.oauth.services import grants_revoke_all


def _store():
    return import_module(settings.SESSION_ENGINE).SessionStore


def session_signed_in(*, user, session_key: str | None) -> None:
    """Remember a new session (connected to ``user_logged_in``)."""
    if session_key:
        SignedInSession.objects.get_or_create(session_key=session_key, defaults={"user": user})


def session_signed_out(*, session_key: str | None) -> None:
    if session_key:
        SignedInSession.objects.filter(session_key=session_key).delete()


@transaction.atomic
def sign_out_everywhere(*, user) -> tuple[int, int]:
    """End every dashboard session of ``user`` and every agent they authorised (tokens stop
    at once). Returns (sessions ended, connections revoked)."""
    store = _store()
    keys = list(SignedInSession.objects.filter(user=user).values_list("session_key", flat=True))
    for key in keys:
        store(session_key=key).delete()
    SignedInSession.objects.filter(user=user).delete()
    return len(keys), grants_revoke_all(user=user)
