"""Uploadcare's File Uploader widget (@uploadcare/file-uploader, from npm) in headless
Chromium, on a customer's page of another origin, its base URL pointed at Imgwire: the
file it uploads becomes a READY image and is served from its CDN URL."""

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from images.models import Image, ImageStatus
from tests.domains.test_cors_browser import chromium  # noqa: F401  (the browser fixture)
from tests.imagegen import jpeg

pytestmark = pytest.mark.django_db(transaction=True)

WIDGET = Path(__file__).resolve().parents[2] / "clients/node_modules/@uploadcare/file-uploader/web"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>customer page</title>
<link rel="stylesheet" href="/uc-file-uploader-regular.min.css">
<script src="/file-uploader.iife.min.js"></script>
<script>UC.defineComponents(UC);</script></head>
<body>
<uc-config ctx-name="imgwire" pubkey="{key}" base-url="{api}/uploadcare" store="auto"
  cdn-cname="{api}/cdn"></uc-config>
<uc-file-uploader-regular ctx-name="imgwire"></uc-file-uploader-regular>
<uc-upload-ctx-provider ctx-name="imgwire" id="ctx"></uc-upload-ctx-provider>
</body></html>"""

# What a customer's code does with the widget: add a file, upload it, wait for the result.
UPLOAD = """async (b64) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const ctx = document.getElementById("ctx");
  await customElements.whenDefined("uc-upload-ctx-provider");
  const done = new Promise((resolve) => {
    ctx.addEventListener("file-upload-success", (e) => resolve({ok: true, uuid: e.detail.uuid}));
    ctx.addEventListener("file-upload-failed", (e) =>
      resolve({ok: false, error: String(e.detail.errors?.[0]?.message ?? "failed")}));
  });
  const api = ctx.getAPI();
  api.addFileFromObject(new File([bytes], "photo.jpg", {type: "image/jpeg"}));
  api.uploadAll();
  return await done;
}"""
# page.evaluate has no timeout of its own: a widget that never loads (its files not served)
# or never finishes must fail the test, not hold the run.
UPLOAD_WITHIN = (
    "async (b64) => Promise.race([(" + UPLOAD + ")(b64), new Promise((resolve) => "
    "setTimeout(() => resolve({ok: false, error: 'no result within 60 s'}), 60000))])"
)


@pytest.fixture
def widget_page(owner, live_server):
    """The widget's files and a page embedding it, on 127.0.0.1 (another origin than the
    live server's localhost)."""
    page = PAGE.format(key=owner.client_key, api=live_server.url).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/":
                body, kind = page, "text/html; charset=utf-8"
            else:
                path = WIDGET / self.path.lstrip("/").split("?")[0]
                if not path.is_file() or WIDGET not in path.resolve().parents:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = path.read_bytes()
                kind = "text/css" if path.suffix == ".css" else "text/javascript"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()
    thread.join()


def test_the_file_uploader_widget_uploads_into_imgwire(
    owner,
    live_server,
    settings,
    chromium,  # noqa: F811
    widget_page,
    stub_worker,
):
    settings.IMGWIRE_PUBLIC_URL = live_server.url
    settings.IMGWIRE_CDN_URL = f"{live_server.url}/cdn"
    assert (WIDGET / "file-uploader.iife.min.js").is_file(), "run make install (npm ci)"
    context = chromium.new_context()
    page = context.new_page()
    seen = []
    page.on("request", lambda r: seen.append(("req", r.method, r.url)))
    page.on("requestfailed", lambda r: seen.append(("failed", r.url, r.failure)))
    page.on("console", lambda m: seen.append(("console", m.text)))
    page.goto(widget_page)
    outcome = page.evaluate(UPLOAD_WITHIN, base64.b64encode(jpeg(120, 90)).decode())
    context.close()
    assert outcome["ok"], (outcome, seen)
    image = Image.objects.get(id=outcome["uuid"])
    assert image.environment == owner.environment
    assert image.status == ImageStatus.READY  # the widget polls info/ until is_ready
    assert requests.get(image.cdn_url, timeout=10).status_code == 200
