"""imagekitio, ImageKit's own Python SDK, pointed at a live Imgwire server."""

import hashlib
import hmac
import time
import uuid

import pytest
import requests
from imagekitio import ImageKit

from keys.signing import signing_secret_reveal


@pytest.fixture
def api_root(live_server, settings):
    settings.IMGWIRE_PUBLIC_URL = live_server.url
    settings.IMGWIRE_CDN_URL = f"{live_server.url}/cdn"
    return f"{live_server.url}/imagekit"


@pytest.fixture
def private_key(owner):
    """ImageKit's private key: the environment's signing secret."""
    return signing_secret_reveal(environment=owner.environment)


@pytest.fixture
def imagekit(private_key, api_root):
    """A client as a team moving off ImageKit configures it: base URL and keys swapped
    (no retries: a refusal must show as the first answer)."""
    return ImageKit(private_key=private_key, base_url=api_root, max_retries=0)


def client_auth(private_key: str, *, token: str | None = None, expire: int | None = None):
    """What a backend's authentication endpoint hands a browser (the SDKs' own algorithm)."""
    token = token or str(uuid.uuid4())
    expire = expire if expire is not None else int(time.time()) + 600
    signature = hmac.new(
        private_key.encode(), f"{token}{expire}".encode(), hashlib.sha1
    ).hexdigest()
    return {"token": token, "expire": expire, "signature": signature}


def post(api_root: str, fields: dict, *, key: str | None = None, file=None, version: int = 1):
    """A raw multipart upload, as the seed's curl examples send one (``-u key:``, text fields
    with ``-F``); ``file`` bytes go as a file part, text ``file`` as a field."""
    parts = {name: (None, str(value)) for name, value in fields.items()}
    if file is not None:
        parts["file"] = ("upload.bin", file, "application/octet-stream")
    return requests.post(
        f"{api_root}/api/v{version}/files/upload",
        files=parts,
        auth=(key, "") if key else None,
        timeout=60,
    )
