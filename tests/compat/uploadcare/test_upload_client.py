"""@uploadcare/upload-client 6.21.0 (npm), run with the machine's Node.js, against a live
server: direct and multipart uploads (parallel parts), from_url polling, groups, errors.

Node runs with tests/clients/loopback-only.mjs preloaded, so the client's Pusher socket to
its vendor fails at once (names other than loopback never resolve) and polling wins, as it
does for any client whose socket cannot connect."""

import io
import json
import os
import subprocess
from ipaddress import ip_network
from pathlib import Path

import pytest
from PIL import Image as PILImage

from images.models import Image, ImageStatus
from keys.models import ApiKeyType
from keys.services import api_key_create
from keys.signing import signing_secret_reveal
from tests import sourceserver
from tests.imagegen import jpeg

pytestmark = pytest.mark.django_db(transaction=True)
source_server = sourceserver.source_server
CLIENTS = Path(__file__).resolve().parents[2] / "clients"


def run(job: dict) -> dict:
    done = subprocess.run(
        ["node", "--import", "./loopback-only.mjs", "uploadcare.mjs", json.dumps(job)],
        cwd=CLIENTS,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def options(owner, live_server, settings):
    settings.IMGWIRE_PUBLIC_URL = live_server.url
    settings.IMGWIRE_CDN_URL = f"{live_server.url}/cdn"
    return {"publicKey": owner.client_key, "baseURL": f"{live_server.url}/uploadcare"}


def test_a_direct_upload_waits_until_the_file_is_ready(owner, options, tmp_path, stub_worker):
    path = tmp_path / "photo.jpg"
    path.write_bytes(jpeg(80, 60))
    outcome = run(
        {
            "op": "uploadFile",
            "file": str(path),
            "options": {
                **options,
                "fileName": "photo.jpg",
                "contentType": "image/jpeg",
                "metadata": {"pet": "cat"},
            },
        }
    )
    assert outcome["ok"], outcome
    result = outcome["result"]  # resolved only once info/ said is_ready
    assert result["mimeType"] == "image/jpeg" and result["isImage"] is True
    image = Image.objects.get(id=result["uuid"])
    assert image.status == ImageStatus.READY
    assert image.custom_metadata == {"pet": "cat"}
    assert (result["imageInfo"]["width"], result["imageInfo"]["height"]) == (80, 60)


def test_a_big_file_goes_up_in_parallel_parts(owner, options, tmp_path, stub_worker):
    canvas = PILImage.frombytes("RGB", (3000, 3000), os.urandom(3000 * 3000 * 3))
    out = io.BytesIO()
    canvas.save(out, "PNG", compress_level=0)
    path = tmp_path / "big.png"
    path.write_bytes(out.getvalue())  # about 26 MiB: over the client's multipart threshold
    outcome = run(
        {
            "op": "uploadFile",
            "file": str(path),
            "options": {
                **options,
                "fileName": "big.png",
                "contentType": "image/png",
                "maxConcurrentRequests": 4,
            },
        }
    )
    assert outcome["ok"], outcome
    image = Image.objects.get(id=outcome["result"]["uuid"])
    assert image.multipart.completed_at is not None
    assert image.size_bytes == len(out.getvalue())
    assert image.status == ImageStatus.READY


def test_from_url_is_polled_to_success(owner, options, settings, source_server, stub_worker):
    settings.IMGWIRE_URL_FETCH_ALLOWED_NETWORKS = (ip_network("127.0.0.0/8"),)
    outcome = run(
        {"op": "uploadFromUrl", "url": source_server.url("/image.png"), "options": options}
    )
    assert outcome["ok"], outcome
    assert Image.objects.get(id=outcome["result"]["uuid"]).status == ImageStatus.READY


def test_a_group_of_uploaded_files(owner, options, tmp_path, stub_worker):
    ids = []
    for n in range(2):
        path = tmp_path / f"{n}.jpg"
        path.write_bytes(jpeg(20, 20))
        ids.append(
            run(
                {
                    "op": "uploadFile",
                    "file": str(path),
                    "options": {**options, "fileName": path.name},
                }
            )["result"]["uuid"]
        )
    outcome = run({"op": "uploadFileGroup", "files": ids, "options": options})
    assert outcome["ok"], outcome
    group = outcome["result"]
    assert group["uuid"].endswith("~2") and group["filesCount"] == 2
    assert [f["uuid"] for f in group["files"]] == ids
    assert group["totalSize"] == 2 * len(jpeg(20, 20))


def test_signed_uploads_with_the_signing_secret_and_the_vendors_error_codes(
    owner, options, tmp_path, stub_worker
):
    import hashlib
    import hmac
    import time

    _, key = api_key_create(
        environment=owner.environment,
        name="signed",
        key_type=ApiKeyType.CLIENT,
        allow_unsigned_upload=False,
    )
    secret = signing_secret_reveal(environment=owner.environment)
    expire = int(time.time()) + 600
    signature = hmac.new(secret.encode(), str(expire).encode(), hashlib.sha256).hexdigest()
    path = tmp_path / "a.jpg"
    path.write_bytes(jpeg(20, 20))
    base = {**options, "publicKey": key, "fileName": "a.jpg"}

    signed = run(
        {
            "op": "uploadFile",
            "file": str(path),
            "options": {**base, "secureSignature": signature, "secureExpire": str(expire)},
        }
    )
    assert signed["ok"], signed
    assert Image.objects.count() == 1
    unsigned = run({"op": "uploadFile", "file": str(path), "options": base})
    assert unsigned["error"]["code"] == "SignatureRequiredError"
    wrong = run(
        {
            "op": "uploadFile",
            "file": str(path),
            "options": {**base, "secureSignature": "0" * 64, "secureExpire": str(expire)},
        }
    )
    assert wrong["error"]["code"] == "SignatureInvalidError"
    bad_key = run(
        {"op": "uploadFile", "file": str(path), "options": {**base, "publicKey": "ck_nope"}}
    )
    assert bad_key["error"]["code"] == "ProjectPublicKeyInvalidError"
    assert Image.objects.count() == 1
