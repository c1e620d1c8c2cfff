"""The authorization server: metadata, registration, code + PKCE through the consent page,
rotating refresh tokens; and what the Resource API does with the tokens."""

import json
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from rest_framework.test import APIClient

from environments.models import Membership, Role
from keys.oauth.models import AgentGrant
from keys.oauth.services import grant_revoke
from tests.agents.conftest import pkce_pair, token_issue
from tests.conftest import body

REDIRECT = "http://127.0.0.1:9/callback"
pytestmark = pytest.mark.django_db


def register(client=None, **metadata) -> dict:
    payload = {
        "client_name": "Test assistant",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        **metadata,
    }
    response = (client or Client()).post(
        "/oauth/register/", json.dumps(payload), content_type="application/json"
    )
    return response


def authorize_code(user, environment, client_id, scope="images:read images:write") -> tuple:
    browser = Client()
    browser.force_login(user)
    verifier, challenge = pkce_pair()
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT,
        "scope": scope,
        "state": "xyz",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "resource": "http://testserver",
    }
    page = browser.get("/oauth/authorize/", query)
    assert page.status_code == 200, page.content[:500]
    form = page.context["form"].initial
    posted = {k: v for k, v in form.items() if v is not None}
    posted.update({"allow": "Authorize", "environment_id": str(environment.id)})
    answer = browser.post("/oauth/authorize/", posted)
    assert answer.status_code == 302, answer.content[:500]
    location = urlparse(answer["Location"])
    return parse_qs(location.query)["code"][0], verifier


def exchange(client_id, code, verifier) -> dict:
    response = Client().post(
        "/oauth/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": client_id,
            "code_verifier": verifier,
            "resource": "http://testserver",
        },
    )
    assert response.status_code == 200, response.content
    return body(response)


def api(token, environment=None) -> APIClient:
    client = APIClient()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if environment is not None:
        headers["HTTP_X_ENVIRONMENT_ID"] = str(environment)
    client.credentials(**headers)
    return client


def test_the_metadata_advertises_code_with_s256_and_registration_only():
    metadata = body(Client().get("/.well-known/oauth-authorization-server"))
    assert metadata["response_types_supported"] == ["code"]
    assert set(metadata["grant_types_supported"]) == {"authorization_code", "refresh_token"}
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["registration_endpoint"].endswith("/oauth/register/")
    resource = body(Client().get("/.well-known/oauth-protected-resource/mcp"))
    assert resource["resource"] == "http://testserver/mcp"
    assert resource["authorization_servers"] == ["http://testserver"]
    assert "settings:write" in resource["scopes_supported"]


def test_registration_refuses_implicit_password_and_client_credentials_grants():
    for grant_types in (["implicit"], ["password"], ["client_credentials"]):
        response = register(grant_types=grant_types)
        assert response.status_code == 400
        assert body(response)["error"] == "invalid_client_metadata"


def test_code_and_pkce_give_rotating_tokens_that_the_api_accepts_in_their_environment(owner):
    client_id = body(register())["client_id"]
    code, verifier = authorize_code(owner.user, owner.environment, client_id)
    tokens = exchange(client_id, code, verifier)
    assert tokens["expires_in"] <= 900
    grant = AgentGrant.objects.get()
    assert grant.environment == owner.environment
    assert grant.scope_list == ["images:read", "images:write"]

    listed = api(tokens["access_token"], owner.environment.id).get("/api/v1/images/")
    assert listed.status_code == 200

    refreshed = Client().post(
        "/oauth/token/",
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": client_id,
        },
    )
    assert refreshed.status_code == 200
    assert body(refreshed)["refresh_token"] != tokens["refresh_token"]
    reused = Client().post(
        "/oauth/token/",
        {
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": client_id,
        },
    )
    assert reused.status_code == 400


def test_a_code_without_its_pkce_verifier_is_refused(owner):
    client_id = body(register())["client_id"]
    code, _ = authorize_code(owner.user, owner.environment, client_id)
    response = Client().post(
        "/oauth/token/",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": client_id,
            "code_verifier": "wrong" * 10,
        },
    )
    assert response.status_code == 400


def test_the_consent_page_refuses_an_environment_the_member_does_not_belong_to(owner, outsider):
    client_id = body(register())["client_id"]
    with pytest.raises(AssertionError):
        authorize_code(owner.user, outsider.environment, client_id)
    assert not AgentGrant.objects.exists()


def test_a_missing_or_wrong_environment_answers_403_without_leaking_existence(owner, outsider):
    token = token_issue(user=owner.user, environment=owner.environment)
    missing = api(token).get("/api/v1/images/")
    other = api(token, outsider.environment.id).get("/api/v1/images/")
    made_up = api(token, "6f1e7a52-0000-4000-8000-000000000000").get("/api/v1/images/")
    assert missing.status_code == other.status_code == made_up.status_code == 403
    assert body(other) == body(made_up)
    assert body(other)["error_type"] == "ResourceNotAuthorizedError"


def test_a_developers_token_cannot_manage_settings(owner, developer):
    token = token_issue(user=developer, environment=owner.environment)
    answer = api(token, owner.environment.id).post(
        "/api/v1/cors_origins/", {"pattern": "https://app.example.com"}, format="json"
    )
    assert answer.status_code == 403


def test_a_read_only_token_cannot_write(owner):
    token = token_issue(user=owner.user, environment=owner.environment, scopes="images:read")
    answer = api(token, owner.environment.id).post(
        "/api/v1/images/standard_upload", {"file_name": "a.png"}, format="json"
    )
    assert answer.status_code == 403


def test_a_settings_only_token_manages_cors_but_cannot_upload_or_delete_images(owner):
    token = token_issue(user=owner.user, environment=owner.environment, scopes="settings:write")
    client = api(token, owner.environment.id)
    upload = client.post("/api/v1/images/standard_upload", {"file_name": "a.png"}, format="json")
    assert upload.status_code == 403 and "images:write" in body(upload)["detail"]
    assert (
        client.post("/api/v1/images/bulk_delete", {"image_ids": []}, format="json").status_code
        == 403
    )
    cors = client.post(
        "/api/v1/cors_origins/", {"pattern": "https://app.example.com"}, format="json"
    )
    assert cors.status_code in (200, 201), cors.content


def test_expired_tampered_and_wrong_audience_tokens_answer_401(owner):
    expired = token_issue(user=owner.user, environment=owner.environment, expires_in=-1)
    good = token_issue(user=owner.user, environment=owner.environment)
    foreign = token_issue(
        user=owner.user, environment=owner.environment, resource=["https://elsewhere.example/api"]
    )
    for token in (expired, good[:-2] + "xx", foreign):
        answer = api(token, owner.environment.id).get("/api/v1/images/")
        assert answer.status_code == 401, token
        assert body(answer)["error_type"] == "InvalidTokenError"


def test_revocation_and_removal_take_effect_on_the_next_request(owner, developer):
    token = token_issue(user=developer, environment=owner.environment)
    assert api(token, owner.environment.id).get("/api/v1/images/").status_code == 200
    Membership.objects.filter(user=developer).delete()
    assert api(token, owner.environment.id).get("/api/v1/images/").status_code == 401

    token = token_issue(user=owner.user, environment=owner.environment)
    assert api(token, owner.environment.id).get("/api/v1/images/").status_code == 200
    grant_revoke(user=owner.user, grant_id=AgentGrant.objects.get(user=owner.user).pk)
    assert api(token, owner.environment.id).get("/api/v1/images/").status_code == 401


def test_a_demoted_owners_token_loses_settings_at_once(owner):
    token = token_issue(user=owner.user, environment=owner.environment)
    client = api(token, owner.environment.id)
    allowed = client.post("/api/v1/cors_origins/", {"pattern": "https://a.example"}, format="json")
    assert allowed.status_code == 200, allowed.content
    Membership.objects.filter(user=owner.user).update(role=Role.DEVELOPER)
    refused = client.post("/api/v1/cors_origins/", {"pattern": "https://b.example"}, format="json")
    assert refused.status_code == 403
