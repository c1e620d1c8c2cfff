"""axe-core (tests/clients/node_modules, pinned by its package-lock.json) run inside every
dashboard page, the sign-in, sign-up and invitation pages and the OAuth consent page, in
Debian's Chromium at desktop (1440x900) and phone (390x844) sizes: no serious or critical
violation, no horizontal overflow at 390 px although every name is very long, a skip link,
and ``aria-current="page"`` on the navigation link of the page shown.

One browser serves the whole module; each test builds its own data (the live server's
database is emptied between tests) and signs in by handing Chromium a session cookie."""

import json
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.test import Client

from environments.invitations import invitation_invite, invitation_token_of
from environments.models import Role
from environments.services import environment_create, membership_create, organization_create
from environments.webhooks.services import subscription_create, subscription_update
from images.services.downloads import download_job_create
from keys.models import ApiKeyType
from keys.services import api_key_create
from tests.agents.conftest import pkce_pair
from tests.conftest import Tenant
from tests.dashboard.browser import CHROMIUM, CHROMIUM_ARGS
from tests.imagegen import jpeg
from tests.uploads import upload

pytestmark = pytest.mark.django_db(transaction=True)

AXE = Path(__file__).resolve().parents[1] / "clients" / "node_modules" / "axe-core" / "axe.min.js"
SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}
PASSWORD = "a-long-pass-phrase"
# Names with no place to break: the worst case for a 390 px wide screen.
LONG_ORG = "Organization" + "x" * 90
LONG_ENV = "Environment" + "y" * 88
LONG_FILE = "photo-" + "z" * 180 + ".jpg"
LONG_EMAIL = "invitee-" + "w" * 60 + "@example.com"
REDIRECT = "http://127.0.0.1:9/callback"
AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => v.id + " (" + v.impact + "): " + v.help + " at "
      + v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", "));
}"""
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) return [];
  return [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > width + 1)
    .slice(0, 5).map((e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
      + (e.className && typeof e.className === "string" ? "." + e.className : ""));
}"""


@dataclass(frozen=True)
class Page:
    name: str
    path: str  # a format string over the data's ids
    signed_in: bool = True
    nav: str | None = None  # the navigation link that must say aria-current="page"
    click: str | None = None  # a button that leads to the page (a POST-only page)
    status: int = 200


PAGES = [
    Page("overview", "/dashboard/{env}/", nav="Overview"),
    Page("images", "/dashboard/{env}/images/", nav="Images"),
    Page("images as a list", "/dashboard/{env}/images/?view=list&sort=name", nav="Images"),
    Page("image", "/dashboard/{env}/images/{image}/?width=200", nav="Images"),
    Page("upload", "/dashboard/{env}/images/upload/", nav="Upload"),
    Page("download", "/dashboard/{env}/downloads/{job}/", nav="Images"),
    Page("team", "/dashboard/{env}/team/", nav="Team"),
    Page("environments", "/dashboard/{env}/environments/", nav="Environments"),
    Page("environment delete", "/dashboard/{env}/environments/{other_env}/delete/"),
    Page("domains", "/dashboard/{env}/domains/", nav="Domains & CORS"),
    Page("metrics", "/dashboard/{env}/metrics/", nav="Metrics"),
    Page("webhooks", "/dashboard/{env}/webhooks/", nav="Webhooks"),
    Page("webhook form", "/dashboard/{env}/webhooks/new/", nav="Webhooks"),
    Page("webhook edit", "/dashboard/{env}/webhooks/{hook}/edit/", nav="Webhooks"),
    Page("webhook log", "/dashboard/{env}/webhooks/{hook}/", nav="Webhooks"),
    Page("webhook secret", "/dashboard/{env}/webhooks/{hook}/secret/", nav="Webhooks"),
    Page("keys", "/dashboard/{env}/keys/", nav="API keys"),
    Page("key form", "/dashboard/{env}/keys/new/", nav="API keys"),
    Page("key edit", "/dashboard/{env}/keys/{client_key}/", nav="API keys"),
    Page("key created", "/dashboard/{env}/keys/{client_key}/created/", nav="API keys"),
    Page("key revoke", "/dashboard/{env}/keys/{client_key}/revoke/", nav="API keys"),
    Page(
        "signing secret",
        "/dashboard/{env}/keys/",
        nav="API keys",
        click="button:has-text('Reveal and copy')",
    ),
    Page("signing secret rotate", "/dashboard/{env}/keys/signing-secret/rotate/", nav="API keys"),
    Page("connections", "/dashboard/{env}/connections/", nav="Connections"),
    Page("organization", "/dashboard/{env}/organization/", nav="Organization"),
    Page("new organization", "/dashboard/organizations/new/"),
    Page("oauth consent", "/oauth/authorize/?{consent}"),
    Page("sign in", "/accounts/login/", signed_in=False),
    Page("sign up", "/accounts/signup/", signed_in=False),
    Page("sign up from an invitation", "/accounts/signup/?invitation={token}", signed_in=False),
    Page("invitation", "/accounts/invitations/{token}/", signed_in=False),
    Page("broken invitation", "/accounts/invitations/not-a-token/", signed_in=False, status=404),
    Page("password reset", "/accounts/password_reset/", signed_in=False),
]


@pytest.fixture(scope="module")
def browser():
    """Sync Playwright keeps an event loop in this thread for the whole module, so Django's
    guard against ORM calls from async code must stand aside meanwhile."""
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _consent_query(client_id: str, base: str) -> str:
    _, challenge = pkce_pair()
    return urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT,
            "scope": "images:read images:write",
            "state": "xyz",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "resource": base,
        }
    )


def _register_client() -> str:
    response = Client().post(
        "/oauth/register/",
        json.dumps(
            {
                "client_name": "An assistant with a rather long name for a small screen",
                "redirect_uris": [REDIRECT],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    return response.json()["client_id"]


def _data(base: str, stub_worker) -> dict:
    """An owner of an organization whose every name is very long, with one of everything."""
    user = get_user_model().objects.create_user(
        username="owner-" + "v" * 40 + "@example.com",
        email="owner-" + "v" * 40 + "@example.com",
        password=PASSWORD,
    )
    organization = organization_create(name=LONG_ORG, owner=user, environment_name=LONG_ENV)
    environment = organization.environments.get()
    other = environment_create(organization=organization, name="Staging " + "s" * 90)
    _, server_secret = api_key_create(
        environment=environment, name="server " + "k" * 80, key_type=ApiKeyType.SERVER
    )
    client_key, _ = api_key_create(
        environment=environment, name="frontend " + "f" * 80, key_type=ApiKeyType.CLIENT
    )
    server = Tenant(organization, environment, user, server_secret, "").server
    image_id = upload(server, jpeg(320, 240), "image/jpeg", LONG_FILE)
    upload(server, jpeg(64, 48), "image/jpeg", "second.jpg")
    stub_worker()
    job = download_job_create(environment=environment, image_ids=[uuid.UUID(image_id)])
    stub_worker()
    member = get_user_model().objects.create_user(
        username="member@example.com", email="member-" + "m" * 60 + "@example.com"
    )
    membership_create(organization=organization, user=member, role=Role.DEVELOPER)
    invitation = invitation_invite(
        organization=organization, email=LONG_EMAIL, role=Role.DEVELOPER, invited_by=user
    )
    hook, _ = subscription_create(
        environment=environment, url="https://hooks.example.invalid/" + "h" * 150
    )
    subscription_update(subscription=hook, enabled=False)  # no event may leave the machine
    client = Client()
    client.force_login(user)
    return {
        "session": client.cookies[django_settings.SESSION_COOKIE_NAME].value,
        "ids": {
            "env": environment.id,
            "other_env": other.id,
            "image": image_id,
            "job": job.id,
            "client_key": client_key.id,
            "hook": hook.id,
            "token": invitation_token_of(invitation.id),
            "consent": _consent_query(_register_client(), base),
        },
    }


def _sign_in(context, base: str, session: str) -> None:
    """The session of a Django client that force_login'ed: no sign-in form per page."""
    cookie = {"name": django_settings.SESSION_COOKIE_NAME, "value": session, "path": "/"}
    context.add_cookies([{**cookie, "domain": urlsplit(base).hostname}])


def _problems(page, spec: Page) -> list[str]:
    problems = []
    page.add_script_tag(path=str(AXE))
    problems += page.evaluate(AXE_RUN)
    problems += [f"wider than the screen: {e}" for e in page.evaluate(OVERFLOW)]
    skip = page.locator("a.skip-link")
    if skip.count() != 1 or skip.get_attribute("href") != "#content":
        problems.append("no skip link to #content")
    if page.locator("main > #content").count() != 1:
        problems.append("the skip link's target is not the start of <main>")
    problems += [
        f"a table cell without its column's name on a phone: {c}" for c in page.evaluate(UNLABELLED)
    ]
    text = page.inner_text("main")
    # Dates in one human format (2 Dec 2026, 20:45 UTC), sizes in binary units (KiB, MiB).
    problems += [f"a machine date on the page: {d}" for d in MACHINE_DATE.findall(text)]
    problems += [f"a decimal size unit on the page: {u}" for u in DECIMAL_SIZE.findall(text)]
    if spec.nav:
        current = page.locator("nav.sections a[aria-current=page]")
        texts = current.all_inner_texts()
        if texts != [spec.nav]:
            problems.append(f"aria-current marks {texts}, not {spec.nav!r}")
    return problems


# Below 600 px a table's header row is hidden and each cell shows its data-label instead:
# a cell with text and no label loses its meaning there (a checkbox or a preview has none).
UNLABELLED = """() => [...document.querySelectorAll("main table")]
  .filter((table) => table.tHead)
  .flatMap((table) => [...table.querySelectorAll("tbody td")])
  .filter((cell) => !cell.dataset.label && cell.colSpan === 1 && cell.textContent.trim())
  .map((cell) => cell.textContent.trim().slice(0, 40))"""
MACHINE_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")
DECIMAL_SIZE = re.compile(r"\b\d+(?:\.\d+)? (?:KB|MB|GB)\b")


@pytest.mark.parametrize("spec", PAGES, ids=[spec.name for spec in PAGES])
def test_the_page_has_no_serious_accessibility_violation_and_fits_a_phone(
    spec, browser, live_server, stub_worker, settings
):
    settings.IMGWIRE_PUBLIC_URL = live_server.url
    settings.IMGWIRE_CDN_URL = f"{live_server.url}/cdn"
    settings.IMGWIRE_PUBLIC_SIGNUP = True
    data = _data(live_server.url, stub_worker)
    url = live_server.url + spec.path.format(**data["ids"])
    problems = []
    for size_name, size in SIZES.items():
        context = browser.new_context(viewport=size)
        if spec.signed_in:
            _sign_in(context, live_server.url, data["session"])
        page = context.new_page()
        response = page.goto(url)
        assert response.status == spec.status, f"{spec.name}: {response.status}"
        if spec.click:
            with page.expect_navigation():
                page.click(spec.click)
        page.wait_for_load_state("load")
        problems += [f"{size_name}: {p}" for p in _problems(page, spec)]
        context.close()
    stub_worker()  # whatever the pages enqueued finishes inside this test
    assert problems == [], "\n".join(problems)


def test_image_checkboxes_say_which_image_they_select(browser, live_server, stub_worker, settings):
    settings.IMGWIRE_PUBLIC_URL = live_server.url
    data = _data(live_server.url, stub_worker)
    context = browser.new_context(viewport=SIZES["phone"])
    _sign_in(context, live_server.url, data["session"])
    page = context.new_page()
    page.goto(f"{live_server.url}/dashboard/{data['ids']['env']}/images/")
    assert page.get_by_role("checkbox", name=f"Select {LONG_FILE}").count() == 1
    assert page.get_by_role("checkbox", name="Select second.jpg").count() == 1
    context.close()
