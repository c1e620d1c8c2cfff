""" "Sign out everywhere" on the Authorized Connections page ends every dashboard session of
the member and revokes every agent they authorised, on the next request."""

from django.test import Client
from rest_framework.test import APIClient

from keys.oauth.models import AgentGrant, SignedInSession
from tests.agents.conftest import token_issue


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)  # the login signal remembers the session, as a real sign-in
    return client


def _api(token, environment_id):
    return APIClient(
        HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_X_ENVIRONMENT_ID=str(environment_id)
    )


def test_signing_out_everywhere_ends_other_sessions_and_every_agent_token(owner, outsider):
    laptop, phone = _signed_in(owner.user), _signed_in(owner.user)
    someone_else = _signed_in(outsider.user)
    token = token_issue(user=owner.user, environment=owner.environment)
    overview = f"/dashboard/{owner.environment.id}/"
    assert phone.get(overview).status_code == 200
    assert _api(token, owner.environment.id).get("/api/v1/images/").status_code == 200

    answer = laptop.post(f"/dashboard/{owner.environment.id}/connections/sign-out-everywhere/")
    assert answer.status_code == 302 and answer["Location"].startswith("/accounts/login/")

    assert phone.get(overview).status_code == 302  # sent to sign in
    assert laptop.get(overview).status_code == 302
    assert _api(token, owner.environment.id).get("/api/v1/images/").status_code == 401
    assert not AgentGrant.objects.filter(user=owner.user).exists()
    assert not SignedInSession.objects.filter(user=owner.user).exists()
    # Nobody else is signed out.
    assert someone_else.get(f"/dashboard/{outsider.environment.id}/").status_code == 200


def test_signing_out_everywhere_needs_a_post_with_the_csrf_token(owner):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(owner.user)
    path = f"/dashboard/{owner.environment.id}/connections/sign-out-everywhere/"
    assert browser.get(path).status_code == 405
    assert browser.post(path).status_code == 403
    assert browser.get(f"/dashboard/{owner.environment.id}/").status_code == 200


def test_signing_out_forgets_the_session(owner):
    client = _signed_in(owner.user)
    assert SignedInSession.objects.filter(user=owner.user).count() == 1
    client.logout()
    assert not SignedInSession.objects.filter(user=owner.user).exists()
