"""One walk through the dashboard in a real Chromium: sign up, create an organization and
a Client key, list a CORS origin, drop two images on the uploader, watch them become READY,
delete one, then invite a developer who cannot see key management.

The drop is synthetic: a DataTransfer built in the page from fetched bytes, dispatched as
a ``drop`` event on the drop zone (the same handler a real drag-and-drop reaches)."""

import base64
import os
import re
from pathlib import Path

import pytest
from django.core import mail

from domains.services import cors_origin_create
from environments.models import Environment
from images.models import Image, ImageStatus
from tests.imagegen import jpeg, png_rgba

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "a-long-pass-phrase"

DROP_SCRIPT = """async (files) => {
  const transfer = new DataTransfer();
  for (const [name, type, b64] of files) {
    const bytes = await (await fetch("data:" + type + ";base64," + b64)).blob();
    transfer.items.add(new File([bytes], name, {type}));
  }
  const zone = document.getElementById("dropzone");
  const init = {dataTransfer: transfer, bubbles: true, cancelable: true};
  zone.dispatchEvent(new DragEvent("dragover", init));
  zone.dispatchEvent(new DragEvent("drop", init));
}"""


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
    member.wait_for_url(f"{base}/accounts/invitations/{token}/")
    member.click("button:has-text('Accept invitation')")
    member.wait_for_url(environment_url)
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


def test_a_new_customer_uploads_deletes_and_invites_a_developer(live_server, stub_worker, settings):
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    settings.IMGWIRE_PUBLIC_URL = live_server.url
    settings.IMGWIRE_CDN_URL = f"{live_server.url}/cdn"
    pages: list = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                ],
            )
            try:
                _walk(browser, live_server.url, pages)
            except Exception:
                ARTIFACTS.mkdir(exist_ok=True)
                for number, page in enumerate(pages):
                    page.screenshot(
                        path=str(ARTIFACTS / f"dashboard-e2e-{number}.png"), full_page=True
                    )
                raise
            finally:
                browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
