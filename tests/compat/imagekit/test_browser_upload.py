"""ImageKit's browser SDK (@imagekit/javascript, from npm) in headless Chromium, on a
customer's page of another origin: its client-side upload (publicKey + token + expire +
signature from the customer's backend) becomes a READY image of the key's environment.

The SDK posts to upload.imagekit.io, a fixed address; its documented ``xhr`` option takes
the customer's own XMLHttpRequest, which here sends to Imgwire's base URL instead, the one
change a team moving off ImageKit makes."""

import base64
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from images.models import Image, ImageStatus
from tests.compat.imagekit.conftest import client_auth
from tests.domains.test_cors_browser import chromium  # noqa: F401  (the browser fixture)
from tests.imagegen import jpeg

pytestmark = pytest.mark.django_db(transaction=True)

SDK = (
    Path(__file__).resolve().parents[2]
    / "clients/node_modules/@imagekit/javascript/dist/imagekit.esm.js"
)
PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>customer page</title></head><body>
<script type="module">
import { upload } from "/imagekit.esm.js";
window.imagekitUpload = upload;
</script></body></html>"""

UPLOAD = """async ({b64, api, auth, publicKey}) => {
  while (!window.imagekitUpload) await new Promise((r) => setTimeout(r, 20));
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  class ToImgwire extends XMLHttpRequest {
    open(method, url, ...rest) {
      return super.open(method, url.replace("https://upload.imagekit.io", api), ...rest);
    }
  }
  try {
    const answer = await window.imagekitUpload({
      file: new File([bytes], "photo.jpg", {type: "image/jpeg"}),
      fileName: "photo.jpg",
      folder: "/from-browser",
      tags: ["web", "upload"],
      publicKey,
      ...auth,
      xhr: new ToImgwire(),
    });
    return {ok: true, answer};
  } catch (error) {
    return {ok: false, error: String(error.message)};
  }
}"""


@pytest.fixture
def customer_page():
    """The SDK and a page importing it, on 127.0.0.1 (another origin than the live
    server's localhost)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path == "/":
                body, kind = PAGE, "text/html; charset=utf-8"
            elif self.path == "/imagekit.esm.js":
                body, kind = SDK.read_bytes(), "text/javascript"
            else:
                body, kind = b"", "text/plain"
            self.send_response(200 if body else 404)
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


def test_the_browser_sdk_uploads_into_imgwire_from_another_origin(
    owner,
    api_root,
    private_key,
    chromium,  # noqa: F811
    customer_page,
    stub_worker,
):
    assert SDK.is_file(), "run make install (npm ci)"
    context = chromium.new_context()
    page = context.new_page()
    seen = []
    page.on("console", lambda m: seen.append(("console", m.text)))
    page.on("requestfailed", lambda r: seen.append(("failed", r.url, r.failure)))
    page.goto(customer_page)
    outcome = page.evaluate(
        UPLOAD,
        {
            "b64": base64.b64encode(jpeg(120, 90)).decode(),
            "api": api_root,
            "auth": client_auth(private_key),
            "publicKey": owner.client_key,
        },
    )
    context.close()
    assert outcome["ok"], (outcome, seen)
    answer = outcome["answer"]
    image = Image.objects.get(id=answer["fileId"])
    assert image.environment == owner.environment
    assert image.status == ImageStatus.READY
    assert (answer["width"], answer["height"]) == (120, 90)
    assert answer["filePath"].startswith("/from-browser/photo_")
    assert answer["tags"] == ["web", "upload"]
    assert requests.get(answer["url"], timeout=10).status_code == 200
