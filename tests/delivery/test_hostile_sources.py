"""READY originals that are odd but valid are delivered, untransformed, with a 200."""

import io

import pytest
from PIL import Image as PILImage
from PIL import ImageSequence
from rest_framework.test import APIClient

from images.delivery.sanitize import strip_gif
from images.models import Image
from images.storage import delete_object
from tests.imagegen import jpeg
from tests.uploads import upload

pytestmark = pytest.mark.django_db(transaction=True)
WIDE = 9000  # over the 8192-pixel output side limit
JUNK = b"\x00" * 40 + b"trailing bytes some encoder left behind" + b"\x00\x13\x37" * 20


def wide_animated_gif() -> bytes:
    frames = [
        PILImage.linear_gradient("L").resize((WIDE, 12)).point(lambda v, s=shift: (v + s) % 256)
        for shift in (0, 60, 120)
    ]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0)
    data = buffer.getvalue()
    assert data.endswith(b"\x3b")
    return data


def pixels(data: bytes) -> list[bytes]:
    with PILImage.open(io.BytesIO(data)) as image:
        return [frame.convert("RGB").tobytes() for frame in ImageSequence.Iterator(image)]


def cdn_get(owner, run_jobs, data: bytes):
    image_id = upload(owner.server, data, "image/gif", "wide.gif")
    run_jobs()
    image = owner.server.get(f"/api/v1/images/{image_id}").json()
    assert image["status"] == "READY", image
    path = "/cdn/" + image["cdn_url"].split("/cdn/", 1)[1]
    response = APIClient().get(path)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


@pytest.mark.parametrize(
    "tail",
    [JUNK + b"\x3b", JUNK, b""],
    ids=["junk-before-the-trailer", "junk-instead-of-the-trailer", "no-trailer"],
)
def test_a_wide_gif_with_junk_after_its_frames_is_delivered_as_stored(owner, stub_worker, tail):
    clean = wide_animated_gif()
    response, body = cdn_get(owner, stub_worker, clean[:-1] + tail)
    assert response.status_code == 200, body
    assert response["Content-Type"] == "image/gif"
    assert body == clean  # stripped losslessly: the junk is gone, the trailer is back
    assert len(pixels(body)) == 3


def test_stripping_a_gif_skips_stray_bytes_between_blocks_as_decoders_do():
    clean = wide_animated_gif()
    assert strip_gif(clean[:-1] + JUNK) == clean
    assert strip_gif(clean[:-1] + b"\x21\xfe\x05junk") == clean  # a comment cut short


def test_a_gif_without_a_complete_frame_is_still_not_stripped():
    header = wide_animated_gif()[:13]
    assert strip_gif(header + JUNK) is None


def test_an_original_re_encoded_to_turn_it_upright_is_fitted_inside_the_output_limits(
    owner, stub_worker
):
    exif = PILImage.Exif()
    exif[0x0112] = 6  # stored 9000x40, shown 40x9000
    buffer = io.BytesIO()
    PILImage.new("RGB", (WIDE, 40), (200, 30, 30)).save(buffer, "PNG", exif=exif)
    image_id = upload(owner.server, buffer.getvalue(), "image/png", "tall.png")
    stub_worker()
    image = owner.server.get(f"/api/v1/images/{image_id}").json()
    assert (image["status"], image["width"], image["height"]) == ("READY", WIDE, 40)

    response = APIClient().get("/cdn/" + image["cdn_url"].split("/cdn/", 1)[1])
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "image/png"
    body = b"".join(response.streaming_content) if response.streaming else response.content
    with PILImage.open(io.BytesIO(body)) as delivered:
        assert delivered.size == (36, 8192)  # upright, the long side at the limit


@pytest.mark.parametrize(
    ("width", "height", "orientation", "animated", "frames"),
    [
        (9000, 40, 1, False, 1),
        (40, 9000, 6, False, 1),
        (8000, 8000, 1, False, 1),  # 64 MP: the area limit binds, not the side
        (7500, 7400, 8, False, 1),
        (3000, 2000, 1, True, 40),  # 40 frames share the area
        (3000, 2000, 1, True, 500),  # the engine renders at most 100 of them
    ],
)
def test_the_fit_for_an_untransformed_render_keeps_the_output_inside_every_limit(
    settings, width, height, orientation, animated, frames
):
    from types import SimpleNamespace

    from images.delivery.service import _fitted_to_output_limits
    from images.transform import parse_transform
    from images.transform.geometry import plan
    from images.transform.limits import Limits

    image = SimpleNamespace(
        width=width, height=height, orientation=orientation, is_animated=animated, frames=frames
    )
    query = _fitted_to_output_limits(image, "webp")
    assert len(query) == 1
    shown = (height, width) if orientation >= 5 else (width, height)
    final = plan(shown, parse_transform(query).params, Limits()).final
    rendered = min(frames, 100) if animated else 1
    Limits(settings.IMGWIRE_MAX_OUTPUT_PIXELS).check(*final, "output", frames=rendered)
    assert abs(final[0] / final[1] / (shown[0] / shown[1]) - 1) < 0.02
    assert max(final) > 0.99 * max(shown) * min(
        1,
        8192 / max(shown),
        (settings.IMGWIRE_MAX_OUTPUT_PIXELS / rendered / (width * height)) ** 0.5,
    )


def test_a_ready_image_whose_stored_bytes_are_gone_answers_404_not_500(owner, stub_worker):
    image_id = upload(owner.server, jpeg(64, 48), "image/jpeg", "lost.jpg")
    stub_worker()
    image = Image.objects.get(id=image_id)
    delete_object(image.original_key)  # storage lost it, or an operator removed it by hand
    path = "/cdn/" + image.cdn_url.split("/cdn/", 1)[1]
    for query in ("?width=20", "?format=png", ""):
        response = APIClient().get(path + query)
        assert response.status_code == 404, (query, response.status_code)
        assert response.json()["detail"] == "The image's stored bytes are missing."
