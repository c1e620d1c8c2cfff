"""An assistant's whole path, with the official `mcp` SDK's client against a live server:
discovery, dynamic registration, code + PKCE through the consent page in headless Chromium,
then every tool; and what the /mcp endpoint does with bad, foreign and lost tokens."""

import asyncio
import concurrent.futures
import json
from urllib.parse import parse_qs, urlparse

import httpx2
import pytest
from django.test import Client as DjangoClient
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata

from domains.models import CorsOrigin
from environments.models import Membership, Role
from environments.services import membership_create
from images.models import Image, ImageStatus
from keys.oauth.models import AgentGrant
from tests.agents.conftest import token_issue
from tests.domains.test_cors_browser import CHROMIUM

REDIRECT = "http://127.0.0.1:9/callback"
TOOLS = {
    "list_images",
    "get_image",
    "delete_image",
    "upload_image_from_url",
    "build_transformation_url",
    "create_bulk_download",
    "get_metrics",
    "list_cors_origins",
    "add_cors_origin",
}


class MemoryStorage:
    def __init__(self):
        self.tokens = None
        self.client_info = None

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens

    async def get_client_info(self):
        return self.client_info

    async def set_client_info(self, client_info):
        self.client_info = client_info


def in_own_thread(coroutine):
    """The SDK and Playwright's async API on a loop of their own, off the test's thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout=120)


def session_cookie(user) -> str:
    client = DjangoClient()
    client.force_login(user)
    return client.cookies["sessionid"].value


async def connect_through_consent(mcp_url, cookie, environment_id, scope, calls):
    from playwright.async_api import async_playwright

    storage = MemoryStorage()
    codes: asyncio.Queue = asyncio.Queue()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        context = await browser.new_context()
        host = urlparse(mcp_url).hostname
        await context.add_cookies(
            [{"name": "sessionid", "value": cookie, "domain": host, "path": "/"}]
        )
        page = await context.new_page()

        async def callback(route):
            query = parse_qs(urlparse(route.request.url).query)
            await codes.put(
                AuthorizationCodeResult(
                    code=query["code"][0],
                    state=query["state"][0],
                    # RFC 9207: the client checks the issuer the server names.
                    iss=query.get("iss", [None])[0],
                )
            )
            await route.fulfill(status=200, body="done")

        await page.route("http://127.0.0.1:9/**", callback)

        async def redirect_handler(url: str) -> None:
            await page.goto(url)
            await page.select_option("#environment_id", environment_id)
            await page.click("#allow")

        async def callback_handler():
            return await asyncio.wait_for(codes.get(), 30)

        provider = OAuthClientProvider(
            server_url=mcp_url,
            client_metadata=OAuthClientMetadata(
                client_name="Playwright assistant",
                redirect_uris=[REDIRECT],
                grant_types=["authorization_code", "refresh_token"],
                response_types=["code"],
                token_endpoint_auth_method="none",
                scope=scope,
            ),
            storage=storage,
            redirect_handler=redirect_handler,
            callback_handler=callback_handler,
        )
        http = httpx2.AsyncClient(auth=provider, timeout=30)
        async with http, Client(streamable_http_client(mcp_url, http_client=http)) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            results = []
            for name, arguments in calls:
                result = await client.call_tool(name, arguments)
                results.append((name, result.is_error, _text(result)))
        await browser.close()
    return tools, results, storage.tokens


def _text(result) -> str:
    return "".join(getattr(part, "text", "") for part in result.content)


TOOL_CALLS = [
    ("list_images", {"limit": 5}),
    ("list_images", {"status": "NOT_A_STATUS"}),
    ("get_image", {"image_id": "{image_id}"}),
    ("build_transformation_url", {"image_id": "{image_id}", "params": {"width": "200"}}),
    ("build_transformation_url", {"image_id": "{image_id}", "params": {"nonsense": "1"}}),
    ("create_bulk_download", {"image_ids": ["{image_id}"]}),
    ("get_metrics", {}),
    ("get_metrics", {"interval": "FORTNIGHT"}),
    ("list_cors_origins", {}),
    ("add_cors_origin", {"pattern": "https://agent.example.com"}),
    ("add_cors_origin", {"pattern": "not a pattern at all"}),
    ("upload_image_from_url", {"url": "http://127.0.0.1:1/nothing.png"}),
    ("delete_image", {"image_id": "{image_id}"}),
    ("get_image", {"image_id": "not-a-uuid"}),
]


@pytest.fixture
def ready_image(owner):
    return Image.objects.create(
        environment=owner.environment,
        original_filename="cat.png",
        mime_type="image/png",
        status=ImageStatus.READY,
        size_bytes=10,
    )


@pytest.fixture
def live(live_server, settings):
    settings.IMGWIRE_PUBLIC_URL = live_server.url
    settings.IMGWIRE_CDN_URL = f"{live_server.url}/cdn"
    return live_server.url


def test_an_mcp_client_registers_consents_in_a_browser_and_calls_every_tool(
    owner, ready_image, live
):
    assert CHROMIUM, "Chromium is not installed (apt-get install chromium, or IMGWIRE_CHROMIUM)"
    calls = [
        (name, json.loads(json.dumps(args).replace("{image_id}", str(ready_image.id))))
        for name, args in TOOL_CALLS
    ]
    tools, results, tokens = in_own_thread(
        connect_through_consent(
            f"{live}/mcp",
            session_cookie(owner.user),
            str(owner.environment.id),
            "images:read images:write settings:write",
            calls,
        )
    )
    assert tools >= TOOLS
    grant = AgentGrant.objects.get()
    assert grant.environment == owner.environment and grant.last_used_at is not None
    assert tokens.refresh_token
    outcome = [(name, error) for name, error, _ in results]
    assert outcome == [
        (name, name_errs) for (name, _), name_errs in zip(calls, EXPECT_ERROR, strict=True)
    ]
    texts = [text for _, _, text in results]
    assert "cat.png" in texts[0] and "QUARANTINE" in texts[1]
    assert "width=200" in texts[3] and "unknown parameter" in texts[4]
    assert CorsOrigin.objects.filter(pattern="https://agent.example.com").exists()
    assert Image.objects.get(pk=ready_image.pk).deleted_at is not None


# Whether each of TOOL_CALLS is expected to come back as a tool error (bad input, refused).
EXPECT_ERROR = [
    False,
    True,
    False,
    False,
    True,
    False,
    False,
    True,
    False,
    False,
    True,
    True,
    False,
    True,
]


def mcp_post(url, token, payload):
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-11-25",
    }
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx2.post(url, content=json.dumps(payload), headers=headers, timeout=30)


def call(name, arguments, id_=1):
    return {
        "jsonrpc": "2.0",
        "id": id_,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


def test_missing_expired_tampered_and_wrong_audience_tokens_answer_401_with_metadata(owner, live):
    good = token_issue(user=owner.user, environment=owner.environment)
    expired = token_issue(user=owner.user, environment=owner.environment, expires_in=-5)
    foreign = token_issue(
        user=owner.user, environment=owner.environment, resource=["https://other.example/mcp"]
    )
    for token in (None, expired, good[:-3] + "abc", foreign):
        answer = mcp_post(f"{live}/mcp", token, call("list_images", {}))
        assert answer.status_code == 401
        assert "resource_metadata=" in answer.headers["WWW-Authenticate"]
        assert "/.well-known/oauth-protected-resource/mcp" in answer.headers["WWW-Authenticate"]


def test_a_token_for_one_environment_never_sees_another(owner, outsider, live):
    # Even where the member belongs to both: the grant names one environment.
    membership_create(organization=outsider.organization, user=owner.user, role=Role.ADMIN)
    theirs = Image.objects.create(
        environment=outsider.environment,
        original_filename="secret.png",
        mime_type="image/png",
        status=ImageStatus.READY,
    )
    token = token_issue(user=owner.user, environment=owner.environment)
    answer = mcp_post(f"{live}/mcp", token, call("get_image", {"image_id": str(theirs.id)}))
    result = answer.json()["result"]
    assert result["isError"] is True
    assert "secret.png" not in json.dumps(result)
    listed = mcp_post(f"{live}/mcp", token, call("list_images", {"name": "secret"}))
    listed_result = listed.json()["result"]
    assert listed_result["isError"] is False
    assert json.loads(listed_result["content"][0]["text"])["total"] == 0
    api = httpx2.get(
        f"{live}/api/v1/images/",
        headers={
            "Authorization": f"Bearer {token}",
            "X-Environment-Id": str(outsider.environment.id),
        },
    )
    assert api.status_code == 403


def test_a_developers_token_cannot_add_cors_origins_and_role_loss_applies_next_call(
    owner, developer, live
):
    token = token_issue(user=developer, environment=owner.environment)
    refused = mcp_post(f"{live}/mcp", token, call("add_cors_origin", {"pattern": "https://x.io"}))
    assert refused.json()["result"]["isError"] is True
    assert not CorsOrigin.objects.exists()

    owner_token = token_issue(user=owner.user, environment=owner.environment)
    ok = mcp_post(f"{live}/mcp", owner_token, call("add_cors_origin", {"pattern": "https://a.io"}))
    assert ok.json()["result"]["isError"] is False
    Membership.objects.filter(user=owner.user).update(role=Role.DEVELOPER)
    demoted = mcp_post(
        f"{live}/mcp", owner_token, call("add_cors_origin", {"pattern": "https://b.io"})
    )
    assert demoted.json()["result"]["isError"] is True
    Membership.objects.filter(user=developer).delete()
    gone = mcp_post(f"{live}/mcp", token, call("list_images", {}))
    assert gone.status_code == 401


def test_revoking_a_connection_on_the_dashboard_stops_its_token_at_once(owner, live):
    token = token_issue(user=owner.user, environment=owner.environment)
    assert mcp_post(f"{live}/mcp", token, call("list_images", {})).status_code == 200
    browser = DjangoClient()
    browser.force_login(owner.user)
    page = browser.get(f"/dashboard/{owner.environment.id}/connections/")
    assert page.status_code == 200 and b"Revoke" in page.content
    grant = AgentGrant.objects.get()
    browser.post(f"/dashboard/{owner.environment.id}/connections/{grant.id}/revoke/")
    assert mcp_post(f"{live}/mcp", token, call("list_images", {})).status_code == 401


def test_bad_tool_input_and_bad_json_rpc_never_answer_500(owner, live):
    token = token_issue(user=owner.user, environment=owner.environment)
    bad_inputs = [
        call("list_images", {"page": "many"}),
        call("list_images", {"limit": 10_000}),
        call("list_images", {"created_after": "yesterday-ish"}),
        call("build_transformation_url", {"image_id": "x", "params": "width=1"}),
        call("create_bulk_download", {"image_ids": ["nope"]}),
        call("no_such_tool", {}),
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call"},
        {"nonsense": True},
    ]
    for payload in bad_inputs:
        answer = mcp_post(f"{live}/mcp", token, payload)
        assert answer.status_code < 500, (payload, answer.text)
    stream = httpx2.get(f"{live}/mcp", headers={"Authorization": f"Bearer {token}"})
    assert stream.status_code == 405  # stateless JSON mode: no GET stream to open
    garbage = httpx2.post(
        f"{live}/mcp",
        content=b"\xff{not json",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert garbage.status_code < 500


def test_a_tool_argument_that_is_not_storable_text_is_refused_by_name(owner, live):
    token = token_issue(user=owner.user, environment=owner.environment)
    answer = mcp_post(f"{live}/mcp", token, call("list_images", {"name": "a\x00b"}))
    assert answer.status_code == 200, answer.text
    result = answer.json()["result"]
    assert result["isError"] is True
    assert "name: This value contains a NUL character" in result["content"][0]["text"]
    # A lone surrogate never reaches a tool: the SDK's JSON parser refuses the escape.
    lone = mcp_post(f"{live}/mcp", token, call("list_images", {"tag": "\ud800"}))
    assert lone.status_code == 400 and lone.json()["error"]["code"] == -32700
