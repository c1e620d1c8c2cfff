"""A loopback receiver, and the settings that let webhooks reach it.

Loopback and plain http:// are refused in production; these tests allow 127.0.0.0/8 and
http explicitly (as the remote-fetcher tests do), except where the point is the refusal.
"""

import pytest

from environments.webhooks.models import Delivery
from environments.webhooks.services import subscription_create, webhook_event_record
from images.remote.addresses import parse_allowed_networks

from .receiver import Receiver

HOOK_URL = "https://hooks.example.com/imgwire"


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def http_allowed(settings):
    settings.IMGWIRE_WEBHOOK_ALLOW_HTTP = True


@pytest.fixture
def loopback_allowed(settings):
    settings.IMGWIRE_WEBHOOK_ALLOWED_NETWORKS = parse_allowed_networks("127.0.0.0/8")


@pytest.fixture
def existing(owner):
    """One subscription of the owner's environment (https: allowed without settings)."""
    subscription, _ = subscription_create(environment=owner.environment, url=HOOK_URL)
    return subscription


@pytest.fixture
def delivery(owner, existing):
    """One event delivered to ``existing``, not yet attempted."""
    webhook_event_record(environment=owner.environment, type="image.ready", payload={"id": "img_1"})
    return Delivery.objects.get(subscription=existing)
