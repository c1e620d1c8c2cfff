"""A brand-new person joins through an invitation in a real Chromium, with sign-up open and
closed, at desktop (1440x900) and phone (390x844) sizes: the owner copies the link from the
team page, the newcomer follows it, creates an account from it and lands in the
organization. Chromium is Debian's, launched by path (no browser download at test time)."""

import os

import pytest

from environments.models import Membership, Role
from tests.dashboard.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, DESKTOP, NO_OVERFLOW, PHONE

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-pass-phrase"


def _owner_invites(browser, base, environment_url, pages, email: str) -> str:
    """Sign in as the owner, invite ``email`` and copy its link with the Copy button."""
    context = browser.new_context(
        viewport=DESKTOP, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    pages.append(page)
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "owner@example.com")
    page.fill("#id_password", "pw-" + "owner" * 3)
    page.click("main button[type=submit]")
    page.wait_for_url(environment_url)
    page.click("nav.sections >> text=Team")
    page.fill("#id_email", email)
    page.select_option("#id_role", "DEVELOPER")
    page.click("button:has-text('Send invitation')")
    page.wait_for_selector(f"text=Invitation sent to {email}")
    row = page.locator("table.invitations tbody tr", has_text=email)
    assert "Resend" in row.inner_text() and "Revoke" in row.inner_text()
    row.locator("button:has-text('Copy link')").click()
    row.locator("text=Copied.").wait_for()
    link = page.evaluate("navigator.clipboard.readText()")
    assert link == row.locator("input.invitation-link").input_value()
    context.close()
    pages.remove(page)
    return link


def _newcomer_joins(browser, pages, link: str, email: str, size: dict, environment_url: str):
    page = browser.new_context(viewport=size).new_page()
    pages.append(page)
    page.goto(link)
    assert "Join owner" in page.inner_text("main h1")
    assert page.evaluate(NO_OVERFLOW), "the invitation page overflows"
    page.click("main >> text=Create an account")
    assert page.input_value("#id_email") == email  # the invited address, filled in
    assert "You are joining owner" in page.inner_text("main")
    assert page.evaluate(NO_OVERFLOW), "the sign-up page overflows"
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("button:has-text('Create account and join')")
    page.wait_for_url(environment_url)
    assert "You joined owner." in page.inner_text(".messages")
    assert page.locator("nav.sections >> text=Images").count() == 1
    assert page.evaluate(NO_OVERFLOW), "the landing page overflows"
    # The link worked once: following it again explains that it was used.
    page.goto(link)
    assert "This invitation was already used" in page.inner_text("main h1")


def _walk(browser, base, pages, settings, owner) -> None:
    environment_url = f"{base}/dashboard/{owner.environment.id}/"
    for public_signup in (True, False):
        settings.IMGWIRE_PUBLIC_SIGNUP = public_signup
        for size in (DESKTOP, PHONE):
            email = f"new-{public_signup}-{size['width']}@example.com".lower()
            link = _owner_invites(browser, base, environment_url, pages, email)
            assert link.startswith(f"{base}/accounts/invitations/")
            _newcomer_joins(browser, pages, link, email, size, environment_url)
            membership = Membership.objects.get(user__email=email)
            assert membership.organization_id == owner.organization.id
            assert membership.role == Role.DEVELOPER
    # Closed means closed for everyone else.
    stranger = browser.new_context(viewport=PHONE).new_page()
    pages.append(stranger)
    stranger.goto(f"{base}/accounts/signup/")
    assert "Sign-up is closed" in stranger.inner_text("main h1")


def test_a_brand_new_person_joins_through_an_invitation_with_sign_up_open_and_closed(
    live_server, settings, owner
):
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # the ORM is read between page steps
    settings.IMGWIRE_PUBLIC_URL = live_server.url  # the links on the team page and in mail
    pages: list = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                _walk(browser, live_server.url, pages, settings, owner)
            except Exception:
                ARTIFACTS.mkdir(exist_ok=True)
                for number, page in enumerate(pages):
                    shot = ARTIFACTS / f"invitation-{number}.png"
                    page.screenshot(path=str(shot), full_page=True)
                raise
            finally:
                browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
