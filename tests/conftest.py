"""The cast every test draws from: an owner's organization with keys, and an outsider."""

import json
from dataclasses import dataclass
from pathlib import Path

import dramatiq
import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from environments.models import Role
from environments.services import membership_create, organization_create
from keys.models import ApiKeyType
from keys.services import api_key_create


@dataclass
class Tenant:
    organization: object
    environment: object
    user: object
    server_key: str
    client_key: str

    def client(self, key: str | None = None, **headers) -> APIClient:
        client = APIClient()
        if key is not None:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}", **headers)
        return client

    @property
    def server(self) -> APIClient:
        return self.client(self.server_key)

    @property
    def browser(self) -> APIClient:
        return self.client(self.client_key)


def make_tenant(name: str, **client_policy) -> Tenant:
    user = get_user_model().objects.create_user(
        username=f"{name}@example.com", email=f"{name}@example.com", password="pw-" + name * 3
    )
    organization = organization_create(name=name, owner=user)
    environment = organization.environments.get()
    _, server_secret = api_key_create(
        environment=environment, name="server", key_type=ApiKeyType.SERVER
    )
    _, client_secret = api_key_create(
        environment=environment, name="client", key_type=ApiKeyType.CLIENT, **client_policy
    )
    return Tenant(organization, environment, user, server_secret, client_secret)


@pytest.fixture
def owner(db) -> Tenant:
    return make_tenant("owner")


@pytest.fixture
def outsider(db) -> Tenant:
    return make_tenant("outsider")


@pytest.fixture
def developer(db, owner):
    user = get_user_model().objects.create_user(
        username="dev@example.com", email="dev@example.com", password="pw-dev-dev"
    )
    membership_create(organization=owner.organization, user=user, role=Role.DEVELOPER)
    return user


@pytest.fixture
def stub_worker():
    """Worker threads on the in-process broker; ``run_jobs()`` drains the queues."""
    from imgwire_site.broker import broker, stop_worker

    broker.flush_all()
    worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=50)
    worker.start()

    def run_jobs():
        # Until every queue is empty: a job may enqueue another on a queue already joined
        # (a finished download sends its webhook), which one pass would leave behind.
        while True:
            for queue in list(broker.queues):
                broker.join(queue, fail_fast=True)
            worker.join()
            if not any(q.unfinished_tasks for q in broker.queues.values()):
                return

    yield run_jobs
    stop_worker(worker)


def body(response):
    return json.loads(response.content)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_configure(config):
    """The static folder `collectstatic` fills in a deployment; WhiteNoise warns without it."""
    from django.conf import settings

    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


def pytest_collection_modifyitems(config, items):
    """Everything under tests/services needs the real services pass (scripts/run_tests.py)."""
    for item in items:
        if "/tests/services/" in str(item.path):
            item.add_marker(pytest.mark.services)


@pytest.fixture(autouse=True)
def isolated_local_storage(settings, tmp_path):
    """Each test gets its own storage folder, so object listings see only its own objects."""
    default = settings.STORAGES["default"]
    if default["BACKEND"].endswith("FileSystemStorage"):
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {**default, "OPTIONS": {**default["OPTIONS"], "location": str(tmp_path)}},
        }


@pytest.fixture(autouse=True)
def no_usage_from_other_tests():
    from metrics.usage import discard_pending

    discard_pending()


@pytest.fixture(scope="session")
def ours(django_db_blocker):
    """Our served OpenAPI document (/api/v1/openapi-server.json)."""
    with django_db_blocker.unblock():
        response = APIClient().get("/api/v1/openapi-server.json")
    assert response.status_code == 200
    return response.json()
