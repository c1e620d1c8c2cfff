"""@imagekit/nodejs 7.11.0 (npm), run with the machine's Node.js, against a live server:
binary, base64 and URL uploads with every option, the answer's fields, versions."""

import base64
import json
import os
import subprocess
from ipaddress import ip_network
from pathlib import Path

import pytest
import requests

from images.models import Image, ImageStatus, ImageVersion
from tests import sourceserver
from tests.imagegen import jpeg, png_rgba

pytestmark = pytest.mark.django_db(transaction=True)
source_server = sourceserver.source_server
CLIENTS = Path(__file__).resolve().parents[2] / "clients"


def run(job: dict) -> dict:
    done = subprocess.run(
        ["node", "--import", "./loopback-only.mjs", "imagekit.mjs", json.dumps(job)],
        cwd=CLIENTS,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_NO_WARNINGS": "1"},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def upload(api_root, private_key, tmp_path):
    """upload(params, data=None) through the Node SDK; data: bytes sent as a file part."""

    def call(params: dict, data: bytes | None = None, op: str = "upload", key=None):
        job = {"op": op, "client": {"privateKey": key or private_key, "baseURL": api_root}}
        if data is not None:
            path = tmp_path / params.get("fileName", "upload.jpg").replace("/", "_")
            path.write_bytes(data)
            job["file"] = str(path)
        job["params"] = params
        return run(job)

    return call


def test_a_binary_upload_with_every_option_is_stored_and_answered(owner, upload, stub_worker):
    outcome = upload(
        {
            "fileName": "red shirt.png",
            "folder": "/catalog/shirts",
            "tags": ["t-shirt", "sale2019"],
            "isPrivateFile": True,
            "customCoordinates": "10,5,20,10",
            "customMetadata": {"brand": "Nike", "stock": 4},
            "useUniqueFileName": False,
            "responseFields": ["customMetadata", "embeddedMetadata", "metadata"],
            "overwriteAITags": True,
        },
        png_rgba(40, 30),
    )
    assert outcome["ok"], outcome
    answer = outcome["result"]
    image = Image.objects.get(id=answer["fileId"])
    assert image.environment == owner.environment and image.status == ImageStatus.READY
    assert answer["name"] == "red_shirt.png"
    assert answer["filePath"] == "/catalog/shirts/red_shirt.png"
    assert answer["tags"] == ["t-shirt", "sale2019"] == image.tags
    assert answer["isPrivateFile"] is True and image.is_private
    assert answer["customCoordinates"] == "10,5,20,10" == image.custom_coordinates
    assert answer["customMetadata"] == {"brand": "Nike", "stock": 4} == image.custom_metadata
    assert answer["embeddedMetadata"] == {}
    assert answer["metadata"]["hasTransparency"] is True
    assert (answer["width"], answer["height"], answer["size"]) == (40, 30, image.size_bytes)
    assert answer["AITags"] is None and answer["fileType"] == "image"
    assert answer["versionInfo"] == {"id": str(image.version_id), "name": "Version 1"}
    assert answer["url"] == image.cdn_url


def test_fields_not_asked_for_in_response_fields_are_left_out(upload, stub_worker):
    answer = upload({"fileName": "a.jpg"}, jpeg())["result"]
    assert "customMetadata" not in answer and "embeddedMetadata" not in answer
    assert answer["tags"] is None and answer["customCoordinates"] is None


def test_embedded_metadata_carries_the_exif_but_never_gps(upload, stub_worker):
    answer = upload(
        {"fileName": "camera.jpg", "responseFields": ["embeddedMetadata"]}, jpeg(exif_gps=True)
    )["result"]
    assert answer["embeddedMetadata"], answer
    assert not any(name.startswith("GPS") for name in answer["embeddedMetadata"])


def test_a_base64_string_is_uploaded_as_the_file(upload, stub_worker):
    data = "data:image/jpeg;base64," + base64.b64encode(jpeg(33, 22)).decode()
    outcome = upload({"fileName": "b64.jpg", "file": data})
    assert outcome["ok"], outcome
    assert (outcome["result"]["width"], outcome["result"]["height"]) == (33, 22)


def test_a_url_is_fetched_and_uploaded(upload, source_server, settings, stub_worker):
    settings.IMGWIRE_URL_FETCH_ALLOWED_NETWORKS = (ip_network("127.0.0.0/8"),)
    outcome = upload(
        {"fileName": "remote.png", "file": source_server.url("/image.png"), "tags": ["web"]}
    )
    assert outcome["ok"], outcome
    answer = outcome["result"]
    assert (answer["width"], answer["height"]) == (4, 3)
    assert requests.get(answer["url"], timeout=10).status_code == 200


def test_a_url_to_a_private_address_is_refused_with_400(upload, stub_worker):
    outcome = upload({"fileName": "x.png", "file": "http://127.0.0.1:9/image.png"})
    assert outcome["error"]["status"] == 400
    assert "could not be downloaded" in outcome["error"]["body"]["message"]


def test_an_upload_to_an_existing_path_becomes_its_next_version(upload, stub_worker):
    first = upload(
        {"fileName": "logo.jpg", "useUniqueFileName": False, "tags": ["old"]}, jpeg(50, 40)
    )["result"]
    second = upload({"fileName": "logo.jpg", "useUniqueFileName": False}, jpeg(80, 60))
    assert second["ok"], second
    answer = second["result"]
    assert answer["fileId"] == first["fileId"]
    assert answer["versionInfo"]["name"] == "Version 2"
    assert answer["versionInfo"]["id"] != first["versionInfo"]["id"]
    assert (answer["width"], answer["height"]) == (80, 60)
    assert answer["tags"] is None  # no tags sent and overwriteTags defaults to true
    image = Image.objects.get(id=first["fileId"])
    assert image.version == 2 and image.width == 80
    assert ImageVersion.objects.filter(image=image, number=1).exists()
    served = requests.get(answer["url"] + "?format=png", timeout=10)
    assert served.status_code == 200


def test_overwrite_tags_false_keeps_the_earlier_tags(upload, stub_worker):
    upload({"fileName": "keep.jpg", "useUniqueFileName": False, "tags": ["a"]}, jpeg())
    answer = upload(
        {"fileName": "keep.jpg", "useUniqueFileName": False, "overwriteTags": False}, jpeg()
    )["result"]
    assert answer["tags"] == ["a"]


def test_overwrite_file_false_on_an_existing_path_is_refused_and_changes_nothing(
    upload, stub_worker
):
    first = upload({"fileName": "once.jpg", "useUniqueFileName": False}, jpeg(20, 20))["result"]
    outcome = upload(
        {"fileName": "once.jpg", "useUniqueFileName": False, "overwriteFile": False},
        jpeg(30, 30),
    )
    assert outcome["error"]["status"] == 409
    assert outcome["error"]["retry"] == "false"
    assert "already exists" in outcome["error"]["body"]["message"]
    image = Image.objects.get(id=first["fileId"])
    assert (image.version, image.width) == (1, 20)
    assert Image.objects.filter(file_name="once.jpg").count() == 1


def test_a_non_image_is_refused_with_400(upload):
    outcome = upload({"fileName": "notes.txt"}, b"just some text, not a picture")
    assert outcome["error"]["status"] == 400
    assert "not an image" in outcome["error"]["body"]["message"]


def test_a_wrong_private_key_is_refused_with_401(upload):
    outcome = upload({"fileName": "a.jpg"}, jpeg(), key="ss_wrong")
    assert outcome["error"]["status"] == 401


def test_extensions_and_webhook_url_are_refused_with_a_sentence(upload):
    extensions = upload(
        {
            "fileName": "a.jpg",
            "extensions": [{"name": "google-auto-tagging", "maxTags": 5, "minConfidence": 95}],
        },
        jpeg(),
    )
    assert extensions["error"]["status"] == 400
    assert "extensions" in extensions["error"]["body"]["message"]
    webhook = upload({"fileName": "a.jpg", "webhookUrl": "https://example.com/hook"}, jpeg())
    assert webhook["error"]["status"] == 400
    assert "webhookUrl" in webhook["error"]["body"]["message"]
