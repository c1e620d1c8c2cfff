#!/usr/bin/env python
"""``make screenshots``: a PNG of every dashboard page at desktop (1440x900) and phone
(390x844) sizes in var/screenshots/, to look at before a change to the console is closed.

Starts the product as ``make run`` does (scripts/run.py) on a port of its own and a fresh
temporary data folder, so the demo data here never mixes with var/'s. The demo account
then gets one of everything through the API and the dashboard's own forms (images, a
second environment, a Client key, a webhook, an invitation, a zip download and an OAuth
client), with names long enough to show what a phone does with them. Chromium is Debian's,
launched by path (as the browser tests launch it).
"""

import base64
import hashlib
import io
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
SIZES = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}
EMAIL, PASSWORD = "demo@example.com", "imgwire-demo"
REDIRECT = "http://127.0.0.1:9/callback"
WEBHOOK_URL = "https://receiver.example.invalid/imgwire-events"
LONG_NAME = "holiday-in-the-mountains-with-the-whole-family-" + "x" * 60 + ".jpg"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def request(method: str, url: str, key: str | None = None, body=None, content_type=None):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if isinstance(body, (dict, list)):
        body, content_type = json.dumps(body).encode(), "application/json"
    if content_type:
        headers["Content-Type"] = content_type
    asked = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310
    with urllib.request.urlopen(asked, timeout=30) as answer:  # noqa: S310 (our own server)
        raw = answer.read()
        return json.loads(raw) if raw else None


def wait_until_up(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("The server stopped while starting; its output is above.")
        try:
            request("GET", f"{base}/health")
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.3)
    sys.exit("The server did not answer /health within 2 minutes.")


def jpeg(width: int, height: int, hue: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    gradient = Image.radial_gradient("L").resize((width, height))
    Image.merge("HSV", (Image.new("L", (width, height), hue), gradient, gradient)).convert(
        "RGB"
    ).save(out, "JPEG")
    return out.getvalue()


def upload_images(base: str, key: str) -> list[str]:
    ids = []
    files = [(LONG_NAME, 1200, 800, 20), ("logo.jpg", 400, 400, 150), ("banner.jpg", 1600, 400, 90)]
    for name, width, height, hue in files:
        data = jpeg(width, height, hue)
        created = request(
            "POST",
            f"{base}/api/v1/images/standard_upload",
            key,
            {"file_name": name, "content_length": len(data), "mime_type": "image/jpeg"},
        )
        request("PUT", created["upload_url"], body=data, content_type="image/jpeg")
        ids.append(created["image"]["id"])
    for image_id in ids:  # verification runs in the background worker threads
        for _ in range(120):
            if request("GET", f"{base}/api/v1/images/{image_id}", key)["status"] == "READY":
                break
            time.sleep(0.25)
    return ids


def consent_query(base: str) -> str:
    client = request(
        "POST",
        f"{base}/oauth/register/",
        body={
            "client_name": "Claude (assistant)",
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "none",
        },
    )
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return urlencode(
        {
            "response_type": "code",
            "client_id": client["client_id"],
            "redirect_uri": REDIRECT,
            "scope": "images:read images:write",
            "state": "screenshots",
            "code_challenge": challenge.decode().rstrip("="),
            "code_challenge_method": "S256",
            "resource": base,
        }
    )


def through_the_forms(page, env_url: str) -> dict:
    """What the dashboard makes itself; returns the ids the page list needs."""
    page.goto(env_url + "environments/")
    page.fill("#id_name", "Staging for the long-running marketing campaign")
    page.click("button:has-text('Create environment')")
    page.goto(env_url + "team/")
    page.fill("#id_email", "new-colleague@example.com")
    page.click("button:has-text('Send invitation')")
    page.goto(env_url + "keys/new/")
    page.fill("#id_name", "storefront")
    page.check("input[name=key_type][value=CLIENT]")
    page.click("button:has-text('Create key')")
    page.wait_for_url("**/created/")
    key_id = page.url.rstrip("/").split("/")[-2]
    page.screenshot(path=str(OUT / "key-created-desktop.png"), full_page=True)
    page.goto(env_url + "images/")
    page.locator("input[name=ids]").first.check()
    page.click("button:has-text('Download selected as zip')")
    page.wait_for_url("**/downloads/**")
    job_id = page.url.rstrip("/").split("/")[-1]
    page.goto(env_url + "environments/")
    other = page.locator("a:has-text('Delete…')").first.get_attribute("href")
    return {"key": key_id, "job": job_id, "other_delete": other}


def pages(env_url: str, base: str, ids: dict, image_id: str, hook_id: str, consent: str):
    return [
        ("overview", env_url),
        ("images", env_url + "images/"),
        ("images-list", env_url + "images/?view=list&sort=name"),
        ("image", env_url + f"images/{image_id}/?width=300&format=webp"),
        ("upload", env_url + "images/upload/"),
        ("download", env_url + f"downloads/{ids['job']}/"),
        ("team", env_url + "team/"),
        ("environments", env_url + "environments/"),
        ("environment-delete", base + ids["other_delete"]),
        ("domains", env_url + "domains/"),
        ("metrics", env_url + "metrics/"),
        ("webhooks", env_url + "webhooks/"),
        ("webhook-new", env_url + "webhooks/new/"),
        ("webhook-edit", env_url + f"webhooks/{hook_id}/edit/"),
        ("webhook-log", env_url + f"webhooks/{hook_id}/"),
        ("keys", env_url + "keys/"),
        ("key-new", env_url + "keys/new/"),
        ("key-edit", env_url + f"keys/{ids['key']}/"),
        ("key-revoke", env_url + f"keys/{ids['key']}/revoke/"),
        ("signing-secret-rotate", env_url + "keys/signing-secret/rotate/"),
        ("connections", env_url + "connections/"),
        ("organization", env_url + "organization/"),
        ("organization-new", base + "/dashboard/organizations/new/"),
        ("oauth-consent", base + "/oauth/authorize/?" + consent),
    ]


SIGNED_OUT = [
    ("sign-in", "/accounts/login/"),
    ("sign-up", "/accounts/signup/"),
    ("invitation-invalid", "/accounts/invitations/not-a-token/"),
    ("password-reset", "/accounts/password_reset/"),
]


def shoot(base: str, key: str) -> int:
    from playwright.sync_api import sync_playwright

    image_ids = upload_images(base, key)
    # Disabled at once, and on a name that never resolves: no event leaves this machine.
    hook = request("POST", f"{base}/api/v1/webhooks/", key, {"url": WEBHOOK_URL})
    request("PATCH", f"{base}/api/v1/webhooks/{hook['id']}", key, {"enabled": False})
    request("POST", f"{base}/api/v1/cors_origins/", key, {"pattern": "shop.example.com"})
    consent = consent_query(base)
    count = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        signed_in = browser.new_context(viewport=SIZES["desktop"])
        page = signed_in.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", EMAIL)
        page.fill("#id_password", PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url("**/dashboard/*/")
        env_url = page.url
        ids = through_the_forms(page, env_url)
        todo = pages(env_url, base, ids, image_ids[0], hook["id"], consent)
        for size_name, size in SIZES.items():
            page.set_viewport_size(size)
            for name, url in todo:
                page.goto(url)
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(OUT / f"{name}-{size_name}.png"), full_page=True)
                count += 1
            visitor = browser.new_context(viewport=size).new_page()
            for name, path in SIGNED_OUT:
                visitor.goto(base + path)
                visitor.screenshot(path=str(OUT / f"{name}-{size_name}.png"), full_page=True)
                count += 1
            visitor.context.close()
        browser.close()
    return count


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.png"):
        old.unlink()
    data_dir = Path(tempfile.mkdtemp(prefix="imgwire-screenshots-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "IMGWIRE_DATA_DIR": str(data_dir), "IMGWIRE_PUBLIC_URL": base}
    server = subprocess.Popen(
        [sys.executable, "scripts/run.py", "--port", str(port), "--workers", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_until_up(base, server)
        key = json.loads((data_dir / "demo-account.json").read_text())["server_key"]
        count = shoot(base, key)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)
    print(f"{count + 1} screenshots in {OUT.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
