"""Multipart uploads: pyuploadcare's own flow, and parts in parallel and out of order."""

import hashlib
import io
import os
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from PIL import Image as PILImage

from images.compat.uploadcare.models import UploadcareMultipart
from images.models import Image, ImageStatus
from images.storage import object_exists

pytestmark = pytest.mark.django_db(transaction=True)

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def big_png() -> bytes:
    """About 12.6 MiB: random pixels do not compress, so the file is as big as its canvas."""
    canvas = PILImage.frombytes("RGB", (2048, 2048), os.urandom(2048 * 2048 * 3))
    out = io.BytesIO()
    canvas.save(out, "PNG", compress_level=0)
    return out.getvalue()


def start(base, key, size, **fields):
    return requests.post(
        f"{base}multipart/start/",
        data={
            "UPLOADCARE_PUB_KEY": key,
            "filename": "/srv/photos/big.png",
            "size": str(size),
            "content_type": "image/png",
            **fields,
        },
        timeout=10,
    )


def test_pyuploadcare_uploads_a_big_file_in_parts_and_it_becomes_ready(
    owner, uploadcare, big_png, tmp_path, stub_worker
):
    path = tmp_path / "big.png"
    path.write_bytes(big_png)
    with path.open("rb") as handle:
        uploaded = uploadcare.upload(handle)  # over 10 MiB: multipart
    image = Image.objects.get(id=uploaded.uuid)
    assert UploadcareMultipart.objects.get(image=image).completed_at is not None
    assert image.original_filename == "big.png"
    assert image.size_bytes == len(big_png)
    stub_worker()
    image.refresh_from_db()
    assert image.status == ImageStatus.READY
    assert image.hash_sha256 == hashlib.sha256(big_png).hexdigest()
    assert (image.width, image.height) == (2048, 2048)


def test_parts_may_arrive_in_parallel_in_any_order_and_again(
    owner, upload_base, big_png, stub_worker
):
    started = start(upload_base, owner.client_key, len(big_png), part_size=str(5 * MiB))
    assert started.status_code == 200, started.text
    body = started.json()
    parts = body["parts"]
    assert len(parts) == 3  # 5 + 5 + 2.6 MiB

    def put(number):
        chunk = big_png[(number - 1) * 5 * MiB : number * 5 * MiB]
        return requests.put(
            parts[number - 1], data=chunk, headers={"Content-Type": "image/png"}, timeout=30
        ).status_code

    with ThreadPoolExecutor(3) as pool:
        assert list(pool.map(put, [3, 1, 2])) == [200, 200, 200]
    assert put(2) == 200  # a retried part replaces itself
    done = requests.post(
        f"{upload_base}multipart/complete/",
        data={"UPLOADCARE_PUB_KEY": owner.client_key, "uuid": body["uuid"]},
        timeout=30,
    )
    assert done.status_code == 200, done.text
    info = done.json()
    assert info["uuid"] == body["uuid"] and info["size"] == len(big_png)
    assert info["is_ready"] is False
    image = Image.objects.get(id=body["uuid"])
    assert not object_exists(f"multipart/{image.environment_id}/{image.id}/00001")
    stub_worker()
    image.refresh_from_db()
    assert image.hash_sha256 == hashlib.sha256(big_png).hexdigest()
    again = requests.post(
        f"{upload_base}multipart/complete/",
        data={"UPLOADCARE_PUB_KEY": owner.client_key, "uuid": body["uuid"]},
        timeout=10,
    )
    assert again.json()["error"]["error_code"] == "MultipartFileAlreadyUploadedError"


def test_completing_with_a_missing_part_names_it(owner, upload_base):
    body = start(upload_base, owner.client_key, 12 * MiB).json()
    requests.put(body["parts"][0], data=b"x" * 5 * MiB, timeout=30)
    done = requests.post(
        f"{upload_base}multipart/complete/",
        data={"UPLOADCARE_PUB_KEY": owner.client_key, "uuid": body["uuid"]},
        timeout=10,
    )
    assert done.status_code == 400
    assert done.json()["error"]["error_code"] == "MultipartUploadSizeTooSmallError"
    assert "2, 3" in done.json()["error"]["content"]


def test_a_part_of_the_wrong_size_is_refused(owner, upload_base):
    body = start(upload_base, owner.client_key, 12 * MiB).json()
    answer = requests.put(body["parts"][0], data=b"x" * 1024, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["error"]["error_code"] == "MultipartFileCompletionFailedError"


def test_a_part_url_with_a_changed_number_is_refused(owner, upload_base):
    body = start(upload_base, owner.client_key, 12 * MiB).json()
    forged = body["parts"][0].replace("/1/?", "/2/?")
    answer = requests.put(forged, data=b"x" * 5 * MiB, timeout=30)
    assert answer.status_code == 403
    assert answer.json()["error"]["error_code"] == "SignatureInvalidError"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"size": str(MiB)}, "MultipartFileSizeTooSmallError"),
        ({"size": "12e6"}, "MultipartSizeInvalidError"),
        ({"size": str(500 * MiB)}, "MultipartFileSizeLimitExceededError"),
        ({"size": str(12 * MiB), "part_size": "1024"}, "MultipartPartSizeTooSmallError"),
        ({"size": str(12 * MiB), "part_size": "five"}, "MultipartPartSizeInvalidError"),
        (
            {"size": str(12 * MiB), "content_type": "video/mp4", "filename": "a.mp4"},
            "FileTypeForbiddenError",
        ),
    ],
)
def test_start_refuses_what_cannot_be_uploaded_in_parts(owner, upload_base, fields, code):
    data = {
        "UPLOADCARE_PUB_KEY": owner.client_key,
        "filename": "big.png",
        "content_type": "image/png",
        **fields,
    }
    answer = requests.post(f"{upload_base}multipart/start/", data=data, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["error"]["error_code"] == code
    assert not Image.objects.exists()


def test_another_environment_cannot_complete_an_upload(owner, outsider, upload_base):
    body = start(upload_base, owner.client_key, 12 * MiB).json()
    done = requests.post(
        f"{upload_base}multipart/complete/",
        data={"UPLOADCARE_PUB_KEY": outsider.client_key, "uuid": body["uuid"]},
        timeout=10,
    )
    assert done.status_code == 404
    assert done.json()["error"]["error_code"] == "MultipartFileNotFoundError"
