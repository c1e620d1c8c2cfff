"""What the dashboard's browser walks share besides browser.py: a Chromium around a walk
(screenshots of every page it opened into test-artifacts/ when it fails), signing in, the
synthetic drop on the uploader, and the overflow check.

The drop is synthetic: a DataTransfer built in the page from base64 bytes, dispatched as a
``drop`` event on the drop zone (the same handler a real drag-and-drop reaches)."""

import base64
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.dashboard.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, NO_OVERFLOW

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

ENVIRONMENT_HOME = re.compile(r"/dashboard/[0-9a-f-]{36}/$")


@dataclass
class Walk:
    browser: object
    base: str
    pages: list = field(default_factory=list)

    def page(self, viewport: dict, **context):
        """A page in a fresh context (its own cookies), remembered for the failure shots."""
        page = self.browser.new_context(viewport=viewport, **context).new_page()
        self.pages.append(page)
        return page

    def sign_in(self, viewport: dict, email: str, password: str, **context):
        page = self.page(viewport, **context)
        page.goto(f"{self.base}/accounts/login/")
        page.fill("#id_username", email)
        page.fill("#id_password", password)
        page.click("main button[type=submit]")
        page.wait_for_url(ENVIRONMENT_HOME)
        return page


def assert_fits(page) -> None:
    """Nothing wider than the viewport: no horizontal scrolling at 390 px."""
    assert page.evaluate(NO_OVERFLOW), f"{page.url} overflows horizontally"


def drop(page, *files: tuple[str, str, bytes]) -> None:
    """Drop ``(name, mime type, bytes)`` files on the uploader of the open page."""
    page.evaluate(
        DROP_SCRIPT, [[name, kind, base64.b64encode(data).decode()] for name, kind, data in files]
    )


@contextmanager
def walking(live_server, settings, name: str):
    """Debian's Chromium for one walk against ``live_server``. Links in pages and emails
    point at it (IMGWIRE_PUBLIC_URL), and so do previews (IMGWIRE_CDN_URL)."""
    from playwright.sync_api import sync_playwright

    settings.IMGWIRE_PUBLIC_URL = live_server.url
    settings.IMGWIRE_CDN_URL = f"{live_server.url}/cdn"
    # Playwright's sync API keeps an event loop on this thread, which makes Django refuse
    # the ORM here; nothing async touches the database, so the walk's own reads are safe.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            walk = Walk(browser, live_server.url)
            try:
                yield walk
            except BaseException:
                ARTIFACTS.mkdir(exist_ok=True)
                for number, page in enumerate(walk.pages):
                    if not page.is_closed():
                        shot = ARTIFACTS / f"{name}-{number}.png"
                        page.screenshot(path=str(shot), full_page=True)
                raise
            finally:
                browser.close()
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous
