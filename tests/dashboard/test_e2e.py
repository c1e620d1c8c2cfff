"""Walks through the dashboard in a real Chromium. One: sign up, create an organization and
a Client key, list a CORS origin, drop two images on the uploader, watch them become READY,
delete one, then invite a developer who cannot see key management. Two: an upload whose
PUT fails leaves nothing behind, and a blocked organization sees a banner on every page
while its previews keep loading (desktop and phone sizes).

The drop is synthetic: a DataTransfer built in the page from fetched bytes, dispatched as
a ``drop`` event on the drop zone (the same handler a real drag-and-drop reaches)."""

import base64
import os
import re
import uuid

import pytest
from django.core import mail

from domains.services import cors_origin_create
from environments.models import Environment
from images.models import Image, ImageStatus
from tests.dashboard.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, PHONE
from tests.dashboard.walks import DROP_SCRIPT  # the synthetic drop on the uploader
from tests.imagegen import jpeg, png_rgba
from tests.uploads import upload

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-pass-phrase"


def _sign_up(page, base: str, email: str, query: str = "") -> None:
    page.goto(f"{base}/accounts/signup/{query}")
    page.fill("#id_email", email)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("main button[type=submit]")


def _walk(browser, base: str, pages: list) -> None:
    owner = browser.new_context().new_page()
    pages.append(owner)
    owner.on("dialog", lambda dialog: dialog.accept())
    _sign_up(owner, base, "founder@example.com")
    owner.wait_for_url(f"{base}/dashboard/organizations/new/")
    owner.fill("#id_name", "Acme")
    owner.click("main button[type=submit]")
    owner.wait_for_url(re.compile(r"/dashboard/[0-9a-f-]{36}/$"))
    environment_url = owner.url

    owner.click("text=API keys")
    owner.click("text=Create a key")
    owner.fill("#id_name", "frontend")
    owner.check("input[name=key_type][value=CLIENT]")
    owner.click("button:has-text('Create key')")
    assert owner.inner_text("#secret").startswith("ck_")

    # Any CORS list at all once refused the uploader: its page is on Imgwire's own origin.
    environment = Environment.objects.get(id=environment_url.rstrip("/").rsplit("/", 1)[-1])
    cors_origin_create(environment=environment, pattern="app.example.com")
    owner.goto(environment_url + "images/upload/")
    files = [
        ["one.jpg", "image/jpeg", base64.b64encode(jpeg(320, 240)).decode()],
        ["two.png", "image/png", base64.b64encode(png_rgba(200, 100)).decode()],
    ]
    owner.evaluate(DROP_SCRIPT, files)
    owner.wait_for_selector("li.upload[data-status=READY] >> nth=1", timeout=60_000)
    assert owner.locator("li.upload progress").evaluate_all("bars => bars.map(b => b.value)") == [
        100,
        100,
    ]

    owner.goto(environment_url + "images/")
    assert owner.locator(".grid li[data-status=READY]").count() == 2
    owner.wait_for_function(
        "() => [...document.querySelectorAll('.grid img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    owner.click("text=two.png")
    assert "200 \u00d7 100" in owner.inner_text("main")
    owner.click("button:has-text('Delete image')")
    owner.wait_for_url(environment_url + "images/")
    assert owner.locator(".grid li[data-status=READY]").count() == 1
    assert Image.objects.alive().filter(status=ImageStatus.READY).count() == 1

    owner.click("nav.sections >> text=Team")
    owner.fill("#id_email", "dev@example.com")
    owner.select_option("#id_role", "DEVELOPER")
    owner.click("button:has-text('Send invitation')")
    owner.wait_for_selector("text=Invitation sent")
    token = re.search(r"/accounts/invitations/([^/\s]+)/", mail.outbox[-1].body).group(1)

    member = browser.new_context().new_page()
    pages.append(member)
    _sign_up(member, base, "dev@example.com", f"?invitation={token}")
    member.wait_for_url(environment_url)  # creating the account from the link joins at once
    assert member.locator("nav.sections >> text=Images").count() == 1
    assert member.locator("text=API keys").count() == 0
    response = member.goto(environment_url + "keys/")
    assert response.status == 403

    member.goto(environment_url)
    member.click("header >> text=Sign out")
    member.wait_for_url(f"{base}/accounts/login/")
    member.fill("#id_username", "Dev@Example.com")
    member.fill("#id_password", PASSWORD)
    member.click("main button[type=submit]")
    member.wait_for_url(environment_url)
    assert member.locator("text=API keys").count() == 0


def _run(live_server, settings, walk) -> None:
    """Chromium at /usr/bin/chromium around ``walk(browser, base, pages)``; screenshots of
    every page into test-artifacts/ when it fails."""
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    settings.IMGWIRE_PUBLIC_URL = live_server.url
    settings.IMGWIRE_CDN_URL = f"{live_server.url}/cdn"
    pages: list = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                walk(browser, live_server.url, pages)
            except Exception:
                ARTIFACTS.mkdir(exist_ok=True)
                for number, page in enumerate(pages):
                    page.screenshot(
                        path=str(ARTIFACTS / f"{walk.__name__}-{number}.png"), full_page=True
                    )
                raise
            finally:
                browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


def test_a_new_customer_uploads_deletes_and_invites_a_developer(live_server, stub_worker, settings):
    _run(live_server, settings, _walk)


def _sign_in(browser, base: str, pages: list, email: str, password: str, **context):
    page = browser.new_context(**context).new_page()
    pages.append(page)
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/dashboard/[0-9a-f-]{36}/$"))
    return page


def test_a_failed_upload_leaves_nothing_and_a_blocked_organization_is_told(
    live_server, stub_worker, settings, owner
):
    settings.IMGWIRE_PUBLIC_URL = live_server.url  # the upload_url of the API upload below
    ready_id = upload(owner.server, jpeg(640, 480), "image/jpeg", "kept.jpg")
    stub_worker()
    environment_url = f"{live_server.url}/dashboard/{owner.environment.id}/"

    def walk(browser, base, pages):
        page = _sign_in(browser, base, pages, owner.user.email, "pw-" + "owner" * 3)
        page.goto(environment_url + "images/upload/")
        # The PUT fails as a refusing storage or a dropped connection would make it fail.
        page.route("**/ingest/**", lambda route: route.fulfill(status=500, body="storage down"))
        page.evaluate(
            DROP_SCRIPT, [["lost.jpg", "image/jpeg", base64.b64encode(jpeg(64, 48)).decode()]]
        )
        failed = page.wait_for_selector("li.upload[data-status=failed]", timeout=30_000)
        assert "Nothing was kept" in failed.inner_text()
        assert list(Image.objects.values_list("id", flat=True)) == [uuid.UUID(ready_id)]

        owner.organization.blocked = True
        owner.organization.save()
        for size in (None, PHONE):
            viewer = (
                page
                if size is None
                else _sign_in(
                    browser, base, pages, owner.user.email, "pw-" + "owner" * 3, viewport=size
                )
            )
            for section in ("", "metrics/", "images/"):  # the grid last
                viewer.goto(environment_url + section)
                banner = viewer.locator("section.standing")
                assert "Uploads and delivery are blocked." in banner.inner_text()
            viewer.wait_for_function(
                "() => [...document.querySelectorAll('.grid img')]"
                ".every(i => i.complete && i.naturalWidth > 0)"
            )
            assert viewer.locator(".grid img").count() == 1
            assert (
                viewer.evaluate("document.documentElement.scrollWidth")
                <= (size or {"width": 1280})["width"]
            )

    _run(live_server, settings, walk)
