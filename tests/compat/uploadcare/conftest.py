"""pyuploadcare, the vendor's own client, pointed at a live Imgwire server."""

import io

import pytest
from pyuploadcare import Uploadcare

from keys.models import ApiKeyType
from keys.services import api_key_create
from keys.signing import signing_secret_reveal


@pytest.fixture
def upload_base(live_server, settings):
    settings.IMGWIRE_PUBLIC_URL = live_server.url
    settings.IMGWIRE_CDN_URL = f"{live_server.url}/cdn"
    return f"{live_server.url}/uploadcare/"


@pytest.fixture
def uploadcare(owner, upload_base):
    """A client as a team moving off Uploadcare configures it: base URL and keys swapped."""
    secret = signing_secret_reveal(environment=owner.environment)
    return Uploadcare(public_key=owner.client_key, secret_key=secret, upload_base=upload_base)


@pytest.fixture
def signed_only(owner):
    """A Client Key that refuses unsigned uploads, and the environment's signing secret."""
    _, public_key = api_key_create(
        environment=owner.environment,
        name="signed",
        key_type=ApiKeyType.CLIENT,
        allow_unsigned_upload=False,
    )
    return public_key, signing_secret_reveal(environment=owner.environment)


def named(data: bytes, name: str) -> io.BytesIO:
    stream = io.BytesIO(data)
    stream.name = name
    return stream
