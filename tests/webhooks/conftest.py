"""A loopback receiver, and the settings that let webhooks reach it.

Loopback and plain http:// are refused in production; these tests allow 127.0.0.0/8 and
http explicitly (as the remote-fetcher tests do), except where the point is the refusal.
"""

import pytest

from images.remote.addresses import parse_allowed_networks

from .receiver import Receiver


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
