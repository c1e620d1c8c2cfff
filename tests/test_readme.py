"""The README's two commands and its "Try it" block, run as a newcomer runs them.

`make run` is started for real (granian, DEBUG off, the embedded worker) on a free port with
its own data folder; the block is cut out of README.md and pasted into bash unchanged.
"""

import json
import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.waiting import wait_for

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def try_it_block() -> str:
    section = README.split("## Try it", 1)[1]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


class MakeRun:
    """`make run` in its own process group, on a data folder that outlives one run."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("IMGWIRE_", "DATABASE_", "MAKE", "MFLAGS", "DJANGO_"))
            },
            "IMGWIRE_DATA_DIR": str(data_dir),
        }

    def __enter__(self):
        self.output = self.data_dir.parent / f"make-run-{self.port}.log"
        with self.output.open("wb") as log:
            self.process = subprocess.Popen(
                ["make", "--no-print-directory", "run", f"PORT={self.port}"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(self.healthy, timeout=120)
        return self

    def healthy(self) -> bool:
        try:
            return requests.get(f"{self.url}/health", timeout=2).ok
        except requests.ConnectionError:
            assert self.process.poll() is None, self.output.read_text()
            return False

    def printed(self) -> str:
        return self.output.read_text()

    def __exit__(self, *exc):
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("make-run") / "var"


@pytest.fixture(scope="module")
def first_run(data_dir, tmp_path_factory):
    """The first `make run`, with the README's block pasted into a second shell."""
    photo = tmp_path_factory.mktemp("photos") / "photo.jpg"
    with MakeRun(data_dir) as server:
        block = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", try_it_block()],
            cwd=ROOT,
            env={**server.env, "API": server.url, "PHOTO": str(photo)},
            capture_output=True,
            text=True,
            timeout=120,
        )
        admin_login = requests.get(f"{server.url}/admin/login/", timeout=5)
        css = requests.get(f"{server.url}/static/admin/css/base.css", timeout=5)
        yield server, block, photo, admin_login, css


def test_the_try_it_block_uploads_waits_for_ready_and_fetches_a_transformed_variant(first_run):
    _, block, photo, _, _ = first_run
    assert block.returncode == 0, block.stderr
    assert re.search(r" is READY$", block.stdout, re.M), block.stdout
    with Image.open(photo.with_name("photo-200.webp")) as variant:
        assert variant.format == "WEBP"
        assert variant.width == 200


def test_make_run_prints_where_the_dashboard_admin_api_and_openapi_document_are(first_run):
    server, _, _, _, _ = first_run
    printed = server.printed()
    for path in ("/dashboard/", "/admin/", "/api/v1/", "/api/v1/openapi-server.json"):
        assert f"{server.url}{path}" in printed
    assert str(server.data_dir / "demo-account.json") in printed


def test_make_run_serves_with_debug_off_and_its_own_static_files(first_run):
    server, _, _, admin_login, css = first_run
    assert admin_login.status_code == 200
    assert css.status_code == 200
    assert css.headers["Content-Type"].startswith("text/css")
    missing = requests.get(f"{server.url}/no-such-page", timeout=5)
    assert missing.status_code == 404
    assert "DEBUG = True" not in missing.text  # Django's debug page would say so


def test_a_second_make_run_keeps_the_data_and_prints_the_same_working_keys(first_run, data_dir):
    first, _, _, _, _ = first_run
    kept = json.loads((data_dir / "demo-account.json").read_text())
    assert kept["server_key"] in first.printed()
    with MakeRun(data_dir) as second:
        assert kept["server_key"] in second.printed()
        assert json.loads((data_dir / "demo-account.json").read_text()) == kept
        listed = requests.get(
            f"{second.url}/api/v1/images/",
            headers={"Authorization": f"Bearer {kept['server_key']}"},
            timeout=5,
        )
        assert listed.status_code == 200
        assert [image["status"] for image in listed.json()] == ["READY"]
