"""Real PostgreSQL, a real broker with separate worker processes, and moto's S3 server.

scripts/run_tests.py sets DATABASE_URL, IMGWIRE_STORAGE_URL and IMGWIRE_BROKER_URL before
this runs; these fixtures create the bucket and start ``dramatiq`` worker processes
pointed at the test database.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def s3_client():
    options = settings.STORAGES["default"]["OPTIONS"]
    return boto3.client(
        "s3",
        endpoint_url=options["endpoint_url"],
        region_name=options.get("region_name") or "us-east-1",
        aws_access_key_id=options.get("access_key") or "testing",
        aws_secret_access_key=options.get("secret_key") or "testing",
    )


@pytest.fixture(scope="session", autouse=True)
def require_real_services():
    backend = settings.STORAGES["default"]["BACKEND"]
    engine = settings.DATABASES["default"]["ENGINE"]
    if "s3" not in backend or "postgresql" not in engine or not settings.IMGWIRE_BROKER_URL:
        pytest.fail("tests/services run only through scripts/run_tests.py (make test)")


@pytest.fixture(scope="session")
def bucket(require_real_services):
    name = settings.STORAGES["default"]["OPTIONS"]["bucket_name"]
    client = s3_client()
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if name not in existing:
        client.create_bucket(Bucket=name)
    return name


class Workers:
    """``dramatiq imgwire_site.worker`` processes on the test database, which tests may kill
    (SIGKILL to the whole process group, as a crashed machine would) and restart."""

    def __init__(self, env: dict):
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self, **extra_env) -> None:
        self.stop()
        self.process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "dramatiq"),
                "imgwire_site.worker",
                "--processes",
                "1",
                "--threads",
                "2",
            ],
            cwd=ROOT,
            env={**self.env, **extra_env},
            start_new_session=True,
        )

    def ensure_running(self) -> None:
        if self.process is None or self.process.poll() is not None:
            self.start()

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=20)
        self.process = None


@pytest.fixture(scope="session")
def workers(django_db_setup, django_db_blocker, bucket):
    from imgwire_site.broker import broker

    broker.flush_all()
    with django_db_blocker.unblock():
        test_db = connection.settings_dict["NAME"]
    db = settings.DATABASES["default"]
    controller = Workers(
        {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{test_db}",
            "LOG_LEVEL": "WARNING",
        }
    )
    yield controller
    controller.stop()


@pytest.fixture
def live(workers, live_server, settings):
    """The live server, set up after (so torn down before) the test database and workers:
    its thread's connection would otherwise keep the test database from being dropped."""
    workers.ensure_running()
    settings.IMGWIRE_PUBLIC_URL = live_server.url
    return live_server.url
