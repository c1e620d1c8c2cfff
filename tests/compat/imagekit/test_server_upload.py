"""Server-side uploads with imagekitio 5.11.0 (Basic auth with the private key)."""

import base64

import pytest
import requests
from imagekitio import AuthenticationError

from images.models import Image, ImageStatus
from tests.compat.imagekit.conftest import post
from tests.imagegen import jpeg, truncated_jpeg

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_binary_upload_becomes_a_ready_image_of_the_environment(owner, imagekit, stub_worker):
    uploaded = imagekit.files.upload(file=jpeg(120, 90), file_name="my photo.jpg")
    image = Image.objects.get(id=uploaded.file_id)
    assert image.environment == owner.environment
    assert image.status == ImageStatus.READY
    assert (uploaded.width, uploaded.height) == (120, 90)
    assert uploaded.name.startswith("my_photo_") and uploaded.name.endswith(".jpg")
    assert uploaded.file_path == f"/{uploaded.name}"
    assert uploaded.file_type == "image"
    assert uploaded.size == image.size_bytes
    assert uploaded.url == image.cdn_url
    assert uploaded.version_info.name == "Version 1"
    assert requests.get(uploaded.url, timeout=10).status_code == 200
    assert requests.get(uploaded.thumbnail_url, timeout=10).status_code == 200


def test_a_server_key_is_accepted_as_the_private_key(owner, api_root, stub_worker):
    from imagekitio import ImageKit

    client = ImageKit(private_key=owner.server_key, base_url=api_root, max_retries=0)
    uploaded = client.files.upload(file=jpeg(), file_name="a.jpg")
    assert Image.objects.get(id=uploaded.file_id).environment == owner.environment


def test_a_base64_upload_with_tags_lands_in_its_folder(api_root, private_key, stub_worker):
    """The seed's curl example: file=<base64> as a text field, tags=tag1,tag2."""
    data = base64.b64encode(jpeg(30, 20)).decode()
    fields = {"file": data, "fileName": "b.jpg", "tags": "t-shirt,men", "folder": "/products/2024/"}
    answer = post(api_root, fields, key=private_key)
    assert answer.status_code == 200, answer.text
    uploaded = answer.json()
    assert uploaded["tags"] == ["t-shirt", "men"]
    assert uploaded["filePath"].startswith("/products/2024/b_")
    assert (uploaded["width"], uploaded["height"]) == (30, 20)
    image = Image.objects.get(id=uploaded["fileId"])
    assert image.folder == "/products/2024" and image.tags == ["t-shirt", "men"]


def test_a_wrong_private_key_answers_401(api_root):
    from imagekitio import ImageKit

    client = ImageKit(private_key="ss_not-the-secret", base_url=api_root, max_retries=0)
    with pytest.raises(AuthenticationError) as raised:
        client.files.upload(file=jpeg(), file_name="a.jpg")
    assert "cannot be authenticated" in raised.value.body["message"]


def test_a_file_that_fails_verification_answers_400_with_the_reason(imagekit, stub_worker):
    from imagekitio import BadRequestError

    with pytest.raises(BadRequestError) as raised:
        imagekit.files.upload(file=truncated_jpeg(), file_name="broken.jpg")
    assert "refused when it was checked" in raised.value.body["message"]


def test_a_private_file_hides_its_original_but_its_thumbnail_preset_stays_public(
    imagekit, stub_worker
):
    uploaded = imagekit.files.upload(file=jpeg(), file_name="p.jpg", is_private_file=True)
    assert uploaded.is_private_file is True
    assert Image.objects.get(id=uploaded.file_id).is_private
    assert requests.get(uploaded.thumbnail_url, timeout=10).status_code == 200
    assert requests.get(uploaded.url, timeout=10).status_code == 404  # unsigned original
