"""gravity=custom (ImageKit fo-custom): crops around the image's custom_coordinates."""

import io

import pytest
from PIL import Image as PILImage

from images.models import Image
from images.transform import parse_transform
from images.transform.engine import SourceInfo, render
from images.transform.focus import custom_center, parse_coordinates
from tests.delivery.test_delivery_view import decoded, get, path_of
from tests.uploads import upload

RED = (255, 0, 0)


def marked(width=400, height=300, box=(300, 200, 380, 280)) -> bytes:
    """A grey image with a red square at ``box`` (left, top, right, bottom)."""
    picture = PILImage.new("RGB", (width, height), (128, 128, 128))
    picture.paste(RED, box)
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


def rendered(data: bytes, query, focus: str) -> PILImage.Image:
    info = SourceInfo("image/png", 400, 300, focus=focus)
    result = render(io.BytesIO(data), info, parse_transform(query), accept="image/png")
    return PILImage.open(io.BytesIO(result.data)).convert("RGB")


def is_red(pixel) -> bool:
    return pixel[0] > 200 and pixel[1] < 60 and pixel[2] < 60


def test_a_custom_crop_is_centred_on_the_focus_area():
    picture = rendered(marked(), [("crop", "80:80:custom")], "300,200,80,80")
    assert picture.size == (80, 80)
    assert all(is_red(picture.getpixel(xy)) for xy in ((0, 0), (40, 40), (79, 79)))
    cover = rendered(marked(), [("w", "80"), ("h", "80"), ("g", "custom")], "300,200,80,80")
    assert cover.size == (80, 80)  # the 300 x 300 window as far towards the area as it goes
    assert is_red(cover.getpixel((64, 64))) and not is_red(cover.getpixel((40, 40)))


def test_a_custom_crop_window_stays_inside_the_image():
    picture = rendered(marked(), [("crop", "200:200:custom")], "300,200,80,80")
    assert picture.size == (200, 200)
    assert is_red(picture.getpixel((150, 150)))  # the window is (200, 100)-(400, 300)
    assert not is_red(picture.getpixel((199, 199))) and not is_red(picture.getpixel((0, 0)))


def test_without_a_focus_area_custom_gravity_crops_the_centre():
    for focus in ("", "nonsense", "1,2,0,4", "-1,2,3,4"):
        picture = rendered(marked(), [("crop", "80:80:custom")], focus)
        assert not is_red(picture.getpixel((79, 79))), focus


def test_the_focus_area_turns_with_rotate_and_flip():
    assert custom_center((0, 0, 10, 10), (100, 50), 90.0) == pytest.approx((45, 5))
    assert custom_center((0, 0, 10, 10), (100, 50), 0.0, (True, False)) == (95, 5)
    assert custom_center((0, 0, 10, 10), (100, 50), 180.0) == pytest.approx((95, 45))
    assert parse_coordinates("1,2,3,4") == (1, 2, 3, 4) and parse_coordinates(None) is None
    picture = rendered(marked(), [("crop", "60:60:custom"), ("rotate", "90")], "300,200,80,80")
    assert picture.size == (60, 60)
    assert all(is_red(picture.getpixel(xy)) for xy in ((0, 0), (30, 30), (59, 59)))


@pytest.mark.django_db(transaction=True)
def test_delivery_crops_around_the_images_custom_coordinates(owner, stub_worker):
    image_id = upload(owner.server, marked(), "image/png", "marked.png")
    stub_worker()
    url = path_of(owner.server.get(f"/api/v1/images/{image_id}").json()["cdn_url"])
    tr = "?tr=cm-extract,w-80,h-80,fo-custom"
    centred = decoded(get(url + tr)).convert("RGB")
    assert not is_red(centred.getpixel((40, 40)))  # no area yet: the centre
    Image.objects.filter(id=image_id).update(custom_coordinates="300,200,80,80")
    focused = get(url + tr)
    assert focused.status_code == 200
    assert is_red(decoded(focused).convert("RGB").getpixel((40, 40)))  # a new variant key
