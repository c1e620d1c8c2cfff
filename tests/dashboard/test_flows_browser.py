"""The flows issue #15 found broken, walked in a real Chromium at desktop (1440x900) and
phone (390x844) sizes: a lockout lifted by the emailed reset, a key page reloaded and
browsed back and forth after creation, the dashboard uploader of an environment with a CORS
list (while a foreign page is still refused), and a failed upload on a phone.

Invitations, the blocked organization's banner and the failed upload at desktop size are
walked by test_invitation_browser.py and test_e2e.py."""

import re

import pytest
from django.core import mail

from domains.services import cors_origin_create
from environments.account_views import MAX_FAILURES
from images.models import Image, ImageStatus
from keys.models import ApiKey
from keys.services import api_key_authenticate
from tests.dashboard.browser import DESKTOP, PHONE
from tests.dashboard.walks import ENVIRONMENT_HOME, assert_fits, drop, walking
from tests.imagegen import jpeg

pytestmark = pytest.mark.django_db(transaction=True)

BOTH_SIZES = pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
OWNER_EMAIL = "owner@example.com"
OWNER_PASSWORD = "pw-" + "owner" * 3

# A customer page's request with a Client key; the outcome is what the page gets to see.
FOREIGN_CREATE = """async ({api, key}) => {
  try {
    const response = await fetch(api + "/api/v1/images/standard_upload", {
      method: "POST",
      headers: {"Authorization": "Bearer " + key, "Content-Type": "application/json"},
      body: JSON.stringify({file_name: "x.jpg", mime_type: "image/jpeg", content_length: 10}),
      signal: AbortSignal.timeout(30000),
    });
    return {status: response.status};
  } catch (error) {
    return {error: error.name};
  }
}"""


def _submit_sign_in(page, password: str):
    page.fill("#id_username", OWNER_EMAIL)
    page.fill("#id_password", password)
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/accounts/login/")
    ) as answer:
        page.click("main button[type=submit]")
    page.wait_for_load_state()
    return answer.value


@BOTH_SIZES
def test_five_wrong_passwords_lock_the_sign_in_until_the_emailed_reset_lets_it_in(
    live_server, settings, owner, size
):
    with walking(live_server, settings, f"lockout-{size['width']}") as walk:
        page = walk.page(size)
        page.goto(f"{walk.base}/accounts/login/")
        for _ in range(MAX_FAILURES):
            assert _submit_sign_in(page, "not-my-password").status == 200
        # Now even the right password is refused, and the page says what helps.
        refused = _submit_sign_in(page, OWNER_PASSWORD)
        assert refused.status == 429
        error = page.inner_text("main .errorlist")
        assert "Too many failed sign-ins" in error and "reset your password" in error
        assert_fits(page)

        page.click("main >> text=Forgot your password?")
        page.fill("#id_email", OWNER_EMAIL)
        assert_fits(page)
        page.click("main button[type=submit]")
        page.wait_for_selector("h1:has-text('Check your email')")
        link = re.search(r"https?://\S+/accounts/reset/\S+/", mail.outbox[-1].body).group(0)
        assert link.startswith(f"{walk.base}/accounts/reset/")

        page.goto(link)
        new_password = "a-brand-new-pass-phrase"
        page.fill("#id_new_password1", new_password)
        page.fill("#id_new_password2", new_password)
        assert_fits(page)
        page.click("main button[type=submit]")
        page.wait_for_selector("h1:has-text('Password saved')")
        assert_fits(page)

        page.click("main >> text=Sign in")
        signed = _submit_sign_in(page, new_password)
        assert signed.status == 302
        page.wait_for_url(ENVIRONMENT_HOME)
        assert page.url == f"{walk.base}/dashboard/{owner.environment.id}/"
        assert page.locator("nav.sections >> text=Images").count() == 1
        assert_fits(page)


@BOTH_SIZES
def test_reloading_or_going_back_and_forth_after_creating_a_key_mints_nothing_and_shows_no_secret(
    live_server, settings, owner, size
):
    with walking(live_server, settings, f"key-reload-{size['width']}") as walk:
        page = walk.sign_in(size, OWNER_EMAIL, OWNER_PASSWORD)
        page.goto(f"{walk.base}/dashboard/{owner.environment.id}/keys/")
        assert_fits(page)
        page.click("main >> text=Create a key")
        page.fill("#id_name", "frontend")
        page.check("input[name=key_type][value=CLIENT]")
        assert_fits(page)
        before = ApiKey.objects.count()
        page.click("button:has-text('Create key')")
        page.wait_for_url(re.compile(r"/keys/[0-9a-f-]{36}/created/$"))
        created_url = page.url
        secret = page.inner_text("#secret").strip()
        assert secret.startswith("ck_")
        assert api_key_authenticate(secret).name == "frontend"
        assert ApiKey.objects.count() == before + 1
        assert_fits(page)

        def shows_no_secret():
            assert page.url == created_url
            assert secret not in page.content()
            assert "shown once and cannot be shown again" in page.inner_text("main")
            assert ApiKey.objects.count() == before + 1

        page.reload()
        shows_no_secret()
        page.go_back()
        assert page.url.endswith("/keys/new/")  # the empty form, not a re-sent POST
        assert page.input_value("#id_name") in ("", "frontend")
        assert ApiKey.objects.count() == before + 1
        page.go_forward()
        shows_no_secret()
        assert_fits(page)


@BOTH_SIZES
def test_the_dashboard_uploader_works_with_a_cors_list_while_a_foreign_page_is_refused(
    live_server, settings, owner, stub_worker, size
):
    cors_origin_create(environment=owner.environment, pattern="app.example.com")
    # The live server under its other loopback name: the same server, another origin.
    foreign = live_server.url.replace("localhost", "127.0.0.1")
    assert foreign != live_server.url
    with walking(live_server, settings, f"cors-upload-{size['width']}") as walk:
        page = walk.sign_in(size, OWNER_EMAIL, OWNER_PASSWORD)
        page.goto(f"{walk.base}/dashboard/{owner.environment.id}/images/upload/")
        drop(page, ("listed.jpg", "image/jpeg", jpeg(320, 240)))
        page.wait_for_selector("li.upload[data-status=READY]", timeout=60_000)
        assert_fits(page)
        image = Image.objects.get(environment=owner.environment)
        assert (image.file_name, image.status) == ("listed.jpg", ImageStatus.READY)

        stranger = walk.page(size)
        console: list[str] = []
        stranger.on("console", lambda message: console.append(message.text))
        stranger.goto(f"{foreign}/accounts/login/")
        outcome = stranger.evaluate(FOREIGN_CREATE, {"api": walk.base, "key": owner.client_key})
        assert outcome == {"error": "TypeError"}  # withheld from the page by the browser
        assert any("blocked by CORS policy" in line for line in console), console
        assert Image.objects.filter(environment=owner.environment).count() == 1


def test_a_failed_upload_on_a_phone_says_nothing_was_kept_and_leaves_no_image(
    live_server, settings, owner
):
    with walking(live_server, settings, "failed-upload-phone") as walk:
        page = walk.sign_in(PHONE, OWNER_EMAIL, OWNER_PASSWORD)
        page.goto(f"{walk.base}/dashboard/{owner.environment.id}/images/upload/")
        # The PUT fails as a refusing storage or a dropped connection would make it fail.
        page.route("**/ingest/**", lambda route: route.fulfill(status=500, body="storage down"))
        drop(page, ("lost-on-the-way.jpg", "image/jpeg", jpeg(64, 48)))
        failed = page.wait_for_selector("li.upload[data-status=failed]", timeout=30_000)
        assert "Nothing was kept" in failed.inner_text()
        assert not Image.objects.exists()
        assert_fits(page)
