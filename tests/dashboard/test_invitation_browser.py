"""A brand-new person joins through an invitation in a real Chromium, with sign-up open and
closed, at desktop (1440x900) and phone (390x844) sizes: the owner copies the link from the
team page, the newcomer follows it, creates an account from it and lands in the
organization. Chromium is Debian's, launched by path (no browser download at test time)."""

import pytest

from environments.models import Membership, Role
from tests.dashboard.browser import CLIPBOARD_ACCESS, DESKTOP, NO_OVERFLOW, PHONE
from tests.dashboard.walks import walking

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "a-long-pass-phrase"


def _owner_invites(walk, environment_url: str, email: str) -> str:
    """Sign in as the owner, invite ``email`` and copy its link with the Copy button."""
    page = walk.sign_in(
        DESKTOP, "owner@example.com", "pw-" + "owner" * 3, permissions=CLIPBOARD_ACCESS
    )
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
    page.context.close()
    walk.pages.remove(page)
    return link


def _newcomer_joins(walk, link: str, email: str, size: dict, environment_url: str):
    page = walk.page(size)
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


def _walk(walk, settings, owner) -> None:
    base = walk.base
    environment_url = f"{base}/dashboard/{owner.environment.id}/"
    for public_signup in (True, False):
        settings.IMGWIRE_PUBLIC_SIGNUP = public_signup
        for size in (DESKTOP, PHONE):
            email = f"new-{public_signup}-{size['width']}@example.com".lower()
            link = _owner_invites(walk, environment_url, email)
            assert link.startswith(f"{base}/accounts/invitations/")
            _newcomer_joins(walk, link, email, size, environment_url)
            membership = Membership.objects.get(user__email=email)
            assert membership.organization_id == owner.organization.id
            assert membership.role == Role.DEVELOPER
    # Closed means closed for everyone else.
    stranger = walk.page(PHONE)
    stranger.goto(f"{base}/accounts/signup/")
    assert "Sign-up is closed" in stranger.inner_text("main h1")


def test_a_brand_new_person_joins_through_an_invitation_with_sign_up_open_and_closed(
    live_server, settings, owner
):
    with walking(live_server, settings, "invitation") as walk:
        _walk(walk, settings, owner)
