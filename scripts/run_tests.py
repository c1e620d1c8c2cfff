#!/usr/bin/env python
"""The test command (``make test``).

Pass 1 runs the whole suite on the embedded defaults (SQLite, a local folder, the in-process
broker). Pass 2 runs ``tests/services`` against a real PostgreSQL, an S3 server that this
script starts (moto's standalone server), and each real broker (Redis, then RabbitMQ) with
separate ``dramatiq`` worker processes. Pass 2 runs whenever those services are reachable;
with IMGWIRE_REQUIRE_SERVICES=1 (CI) a missing service fails the run instead.
"""

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SERVICES = {"PostgreSQL": 5432, "Redis": 6379, "RabbitMQ": 5672}
BROKERS = {
    "redis": "redis://127.0.0.1:6379/15",
    "rabbitmq": "amqp://guest:guest@127.0.0.1:5672/%2F",
}
CONFIG_VARIABLES = (
    "DATABASE_URL",
    "IMGWIRE_STORAGE_URL",
    "IMGWIRE_BROKER_URL",
    "DEBUG",
    "SECRET_KEY",
    "IMGWIRE_KEY_PEPPER",
    "IMGWIRE_PUBLIC_URL",
    "IMGWIRE_CDN_URL",
)


def reachable(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pytest(args: list[str], env: dict) -> int:
    print(f"\n=== pytest {' '.join(args)}", flush=True)
    return subprocess.call([str(BIN / "python"), "-m", "pytest", *args], cwd=ROOT, env=env)


def start_s3() -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not reachable(port):
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("moto_server did not start")
        time.sleep(0.1)
    return server, f"http://127.0.0.1:{port}"


def main() -> int:
    extra = sys.argv[1:]
    base = {k: v for k, v in os.environ.items() if k not in CONFIG_VARIABLES}
    data_dir = tempfile.mkdtemp(prefix="imgwire-test-")
    base["IMGWIRE_DATA_DIR"] = data_dir
    try:
        status = pytest(["-m", "not services", *extra], base)

        required = os.environ.get("IMGWIRE_REQUIRE_SERVICES") == "1"
        missing = [name for name, port in SERVICES.items() if not reachable(port)]
        if missing:
            print(f"\nServices pass: {', '.join(missing)} not reachable on 127.0.0.1.")
            if required:
                print("IMGWIRE_REQUIRE_SERVICES=1: failing.")
                return 1
            print("Skipping the services pass (set IMGWIRE_REQUIRE_SERVICES=1 to require it).")
            return status

        s3, endpoint = start_s3()
        try:
            for name, url in BROKERS.items():
                env = {
                    **base,
                    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/imgwire",
                    "IMGWIRE_STORAGE_URL": f"s3://imgwire-test?endpoint_url={endpoint}"
                    "&region=us-east-1",
                    "AWS_ACCESS_KEY_ID": "testing",
                    "AWS_SECRET_ACCESS_KEY": "testing",
                    "IMGWIRE_BROKER_URL": url,
                    "IMGWIRE_TEST_BROKER": name,
                    # A shared database means several machines: they need set secrets.
                    "SECRET_KEY": secrets.token_urlsafe(48),
                    "IMGWIRE_KEY_PEPPER": secrets.token_urlsafe(32),
                }
                status |= pytest(["-m", "services", "tests/services", "--create-db", *extra], env)
        finally:
            s3.terminate()
            s3.wait(timeout=10)
        return status
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
