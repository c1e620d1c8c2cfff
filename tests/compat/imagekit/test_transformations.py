"""transformation.pre (applied before storing) and .post (variants rendered ahead), in
ImageKit's transformation syntax; what the engine cannot do is refused, named."""

import pytest
import requests

from images.delivery.service import plan_delivery
from images.models import Image
from images.storage import object_exists
from images.transform.imagekit_syntax import delivery_suffix, to_transform
from tests.compat.imagekit.conftest import post
from tests.imagegen import jpeg
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_pre_transformation_is_stored_as_the_original(imagekit, stub_worker):
    uploaded = imagekit.files.upload(
        file=jpeg(200, 100), file_name="pre.jpg", transformation={"pre": "w-100,h-50:rt-90"}
    )
    assert (uploaded.width, uploaded.height) == (50, 100)
    image = Image.objects.get(id=uploaded.file_id)
    assert (image.width, image.height) == (50, 100)


def test_post_transformations_are_rendered_after_the_upload(imagekit, stub_worker):
    uploaded = imagekit.files.upload(
        file=jpeg(200, 100),
        file_name="post.jpg",
        transformation={"post": [{"type": "transformation", "value": "w-60,h-30"}]},
    )
    image = Image.objects.with_environment().get(id=uploaded.file_id)
    plan = plan_delivery(image, to_transform("w-60,h-30"), None)
    wait_for(lambda: object_exists(plan.key))
    served = requests.get(uploaded.url + delivery_suffix("w-60,h-30"), timeout=10)
    assert served.status_code == 200


def test_an_unknown_transformation_parameter_is_refused_naming_it(api_root, private_key):
    answer = post(
        api_root,
        {"fileName": "a.jpg", "transformation": '{"pre": "w-100,zz-3"}'},
        key=private_key,
        file=jpeg(),
    )
    assert answer.status_code == 400
    assert "zz" in answer.json()["message"]


def test_a_video_post_transformation_is_refused(api_root, private_key):
    answer = post(
        api_root,
        {"fileName": "a.jpg", "transformation": '{"post": [{"type": "gif-to-video"}]}'},
        key=private_key,
        file=jpeg(),
    )
    assert answer.status_code == 400
