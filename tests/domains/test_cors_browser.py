"""A real Chromium, cross-origin: a page on a listed origin uploads, any other page is blocked.

The API runs on pytest-django's live server (``localhost:<B>``); the pages come from a tiny
http.server on another port (``127.0.0.1:<A>`` is listed, ``localhost:<A>`` is not). Debian's
Chromium is launched by path through Playwright, so no browser is downloaded at test time.
"""

import base64
import json
import os
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from domains.services import cors_origin_create
from images.models import Image
from tests.imagegen import jpeg

pytestmark = pytest.mark.django_db(transaction=True)

CHROMIUM = os.environ.get("IMGWIRE_CHROMIUM") or shutil.which("chromium")

# What a customer's page does: create the upload, PUT the bytes, read the image back.
# Each fetch gives up after 30 s (AbortSignal.timeout): a stalled request fails the test
# with {"error": "TimeoutError"} instead of holding page.evaluate, which has no timeout.
UPLOAD_SCRIPT = """async ({api, key, image}) => {
  const bytes = Uint8Array.from(atob(image), c => c.charCodeAt(0));
  const out = {};
  const within = () => AbortSignal.timeout(30000);
  try {
    const created = await fetch(api + "/api/v1/images/standard_upload", {
      method: "POST",
      headers: {"Authorization": "Bearer " + key, "Content-Type": "application/json"},
      body: JSON.stringify({file_name: "photo.jpg", mime_type: "image/jpeg",
                            content_length: bytes.length}),
      signal: within(),
    });
    out.create = created.status;
    const body = await created.json();
    const put = await fetch(body.upload_url, {
      method: "PUT", headers: {"Content-Type": "image/jpeg"}, body: bytes, signal: within(),
    });
    out.put = put.status;
    const read = await fetch(api + "/api/v1/images/" + body.image.id, {
      headers: {"Authorization": "Bearer " + key}, signal: within(),
    });
    out.read = read.status;
    out.same_image = (await read.json()).id === body.image.id;
  } catch (error) {
    out.error = error.name;
  }
  return out;
}"""
UPLOADED = {"create": 200, "put": 200, "read": 200, "same_image": True}


@pytest.fixture
def chromium(monkeypatch):
    """A headless Chromium (`make install` installs Debian's); a missing browser fails."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "Chromium is not installed (apt-get install chromium, or IMGWIRE_CHROMIUM)"
    # Playwright's sync API keeps an event loop on this thread, which makes Django refuse ORM
    # calls here; nothing async touches the database, so the test's own queries are safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                # Only the loopback servers resolve: the test cannot reach the internet.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page_server():
    """Serves an empty page on 127.0.0.1:<port>, reachable as two origins."""
    body = b"<!doctype html><title>customer page</title>"

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    server.server_close()
    thread.join()


def upload_from(browser, origin: str, live_server, client_key: str) -> tuple[dict, list[str]]:
    """Run the upload script on a page of ``origin``; returns its outcome and console errors."""
    context = browser.new_context()
    page = context.new_page()
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(origin + "/")
    outcome = page.evaluate(
        UPLOAD_SCRIPT,
        {
            "api": live_server.url,
            "key": client_key,
            "image": base64.b64encode(jpeg()).decode(),
        },
    )
    context.close()
    return outcome, console


def test_a_real_browser_uploads_from_a_listed_origin_and_is_blocked_elsewhere(
    owner, live_server, settings, chromium, page_server
):
    settings.IMGWIRE_PUBLIC_URL = live_server.url  # upload_url must point at the live server
    listed = f"http://127.0.0.1:{page_server}"
    unlisted = f"http://localhost:{page_server}"
    cors_origin_create(environment=owner.environment, pattern=listed)

    outcome, _ = upload_from(chromium, listed, live_server, owner.client_key)
    assert outcome == UPLOADED
    assert Image.objects.filter(environment=owner.environment).count() == 1

    # The server answers 403 without CORS headers; the browser withholds it from the page.
    outcome, console = upload_from(chromium, unlisted, live_server, owner.client_key)
    assert outcome == {"error": "TypeError"}
    assert any("blocked by CORS policy" in line for line in console), json.dumps(console)
    assert Image.objects.filter(environment=owner.environment).count() == 1


def test_a_real_browser_may_upload_from_anywhere_when_no_origins_are_listed(
    owner, live_server, settings, chromium, page_server
):
    settings.IMGWIRE_PUBLIC_URL = live_server.url
    outcome, _ = upload_from(
        chromium, f"http://localhost:{page_server}", live_server, owner.client_key
    )
    assert outcome == UPLOADED
