"""The embedded defaults, served for real: an upload reaches READY with nothing else started.

Starts gunicorn on the WSGI application (as an operator would) with SQLite, a local folder
and the in-process broker, and drives the two-step upload over HTTP.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests import imagegen
from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("IMGWIRE_", "DATABASE_"))},
        "IMGWIRE_DATA_DIR": str(tmp_path_factory.mktemp("embedded")),
        "IMGWIRE_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "DJANGO_SETTINGS_MODULE": "imgwire_site.settings",
        "LOG_LEVEL": "WARNING",
    }
    manage = [str(BIN / "python"), "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    account = json.loads(
        subprocess.run(
            [
                *manage,
                "bootstrap",
                "--organization",
                "E",
                "--environment",
                "Production",
                "--email",
                "e@example.com",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "imgwire_site.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )

    def up():
        try:
            return requests.get(f"http://127.0.0.1:{port}/health", timeout=2).ok
        except requests.ConnectionError:
            assert process.poll() is None, "gunicorn exited"
            return False

    try:
        wait_for(up, timeout=60)
        yield f"http://127.0.0.1:{port}", account
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_an_upload_to_the_served_embedded_app_reaches_ready_without_a_separate_worker(server):
    url, account = server
    headers = {"Authorization": f"Bearer {account['server_key']}"}
    data = imagegen.png_rgba()
    created = requests.post(
        f"{url}/api/v1/images/standard_upload",
        json={"file_name": "a.png", "content_length": len(data)},
        headers=headers,
        timeout=10,
    ).json()
    assert created["upload_url"].startswith(url)
    put = requests.put(
        created["upload_url"], data=data, headers={"Content-Type": "image/png"}, timeout=10
    )
    assert put.status_code == 200

    def settled():
        image = requests.get(
            f"{url}/api/v1/images/{created['image']['id']}", headers=headers, timeout=10
        ).json()
        return image if image["status"] != "PENDING" and image["status"] != "PROCESSING" else None

    image = wait_for(settled, timeout=60)
    assert image["status"] == "READY"
    assert image["width"] > 0


def test_the_client_key_printed_by_bootstrap_can_create_uploads(server):
    url, account = server
    response = requests.post(
        f"{url}/api/v1/images/standard_upload",
        json={"file_name": "a.webp"},
        headers={"Authorization": f"Bearer {account['client_key']}"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json()["image"]["mime_type"] == "image/webp"
