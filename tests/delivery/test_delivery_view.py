"""The CDN delivery view end to end: READY images only, transforms, caching headers."""

import io
import threading

import pytest
from django.core.files.storage import default_storage
from PIL import Image as PILImage
from rest_framework.test import APIClient

from images.models import Image, variants_prefix
from metrics.models import DeliveryUsageHour
from metrics.usage import flush_usage
from tests import imagegen
from tests.uploads import create_upload, upload

pytestmark = pytest.mark.django_db(transaction=True)
CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
SAFARI = (
    "image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,"
    "image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"
)
FIREFOX = "image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5"
MAGIC = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG", "image/gif": b"GIF8"}


def path_of(cdn_url: str) -> str:
    return "/cdn/" + cdn_url.split("/cdn/", 1)[1]


def get(url: str, method: str = "get", **headers):
    return getattr(APIClient(), method)(url, **headers)


def content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def decoded(response_or_bytes) -> PILImage.Image:
    data = response_or_bytes
    if not isinstance(data, bytes):
        data = content(data)
    image = PILImage.open(io.BytesIO(data))
    image.load()
    return image


@pytest.fixture
def photo(owner, stub_worker):
    image_id = upload(
        owner.server, imagegen.jpeg(width=400, height=300, exif_gps=True), "image/jpeg", "photo.jpg"
    )
    stub_worker()
    return owner.server.get(f"/api/v1/images/{image_id}").json()


def test_an_untransformed_request_serves_the_original_without_metadata(photo):
    response = get(path_of(photo["cdn_url"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["ETag"].startswith('"')
    assert not response.has_header("Vary")
    body = content(response)
    assert int(response["Content-Length"]) == len(body)
    assert b"GPS" not in body and b"Make" not in body
    assert decoded(body).size == (400, 300)


def test_if_none_match_answers_304_and_head_sends_no_body(photo):
    url = path_of(photo["cdn_url"]) + "?width=100"
    first = get(url)
    etag = first["ETag"]
    assert get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    head = get(url, method="head")
    assert head.status_code == 200
    assert head["ETag"] == etag
    assert int(head["Content-Length"]) == len(content(first))
    assert content(head) == b""


def test_equivalent_urls_share_one_variant_and_one_etag(photo):
    base = path_of(photo["cdn_url"])
    a = get(f"{base}?width=120&format=jpg")
    b = get(f"{base}?f=jpeg&w=120")
    assert a["ETag"] == b["ETag"]
    body = content(a)
    assert body == content(b)
    assert decoded(body).width == 120


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        (CHROME, "image/avif"),
        (SAFARI, "image/avif"),
        (FIREFOX, "image/avif"),
        ("*/*", "image/webp"),
        ("image/webp,*/*", "image/webp"),
        ("image/jpeg", "image/jpeg"),
    ],
)
def test_format_auto_negotiates_from_accept_and_varies_on_it(photo, accept, content_type):
    response = get(path_of(photo["cdn_url"]) + "?width=80", HTTP_ACCEPT=accept)
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Vary"] == "Accept"


def test_an_explicit_format_does_not_vary(photo):
    response = get(path_of(photo["cdn_url"]) + "?width=80&format=png", HTTP_ACCEPT=CHROME)
    assert response["Content-Type"] == "image/png"
    assert content(response).startswith(MAGIC["image/png"])
    assert not response.has_header("Vary")


def test_the_thumbnail_preset_is_150_square(photo):
    response = get(path_of(photo["cdn_url"]) + "@thumbnail?format=jpg")
    assert response.status_code == 200
    assert decoded(response).size == (150, 150)


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("width=0", "width"),
        ("width=100&w=200", "width"),
        ("nonsense=1", "nonsense"),
        ("quality=101", "quality"),
    ],
)
def test_bad_parameters_answer_400_naming_the_parameter(photo, query, parameter):
    response = get(path_of(photo["cdn_url"]) + "?" + query)
    assert response.status_code == 400
    assert response.json()["parameter"] == parameter
    assert parameter in response.json()["detail"]


def test_utf8_written_without_percent_encoding_is_read_as_the_text_it_is(photo):
    # The WSGI environ carries each byte of the query as one latin-1 character.
    raw = "width=\u0663\u0660\u0660".encode().decode("latin-1")  # Arabic-Indic 300
    response = APIClient().get(path_of(photo["cdn_url"]), QUERY_STRING=raw)
    assert response.status_code == 400
    assert "must be an integer" in response.json()["detail"]
    assert "\\u0663" in response.content.decode()


def test_only_ready_images_of_the_named_environment_are_served(owner, outsider, photo):
    pending = create_upload(owner.server).json()["image"]
    assert get(path_of(pending["cdn_url"])).status_code == 404
    wrong_env = photo["cdn_url"].replace(str(owner.environment.id), str(outsider.environment.id))
    assert get(path_of(wrong_env)).status_code == 404
    wrong_org = photo["cdn_url"].replace(str(owner.organization.id), str(outsider.organization.id))
    assert get(path_of(wrong_org)).status_code == 404
    assert get("/cdn/x/y/z").status_code == 404


def test_a_quarantined_image_is_never_served(owner, stub_worker):
    image_id = upload(owner.server, imagegen.tiff(), "image/png", "fake.png")
    stub_worker()
    image = owner.server.get(f"/api/v1/images/{image_id}").json()
    assert image["status"] == "QUARANTINE"
    assert get(path_of(image["cdn_url"])).status_code == 404


def test_deleting_an_image_removes_its_variants_and_stops_delivery(owner, photo, stub_worker):
    url = path_of(photo["cdn_url"])
    assert get(url + "?width=50").status_code == 200
    record = Image.objects.get(id=photo["id"])
    prefix = variants_prefix(record.environment_id, record.id)
    assert default_storage.listdir(prefix.rstrip("/"))[1]
    owner.server.delete(f"/api/v1/images/{photo['id']}")
    stub_worker()
    assert get(url + "?width=50").status_code == 404
    assert (
        not default_storage.exists(prefix.rstrip("/"))
        or not default_storage.listdir(prefix.rstrip("/"))[1]
    )


def test_a_heic_original_is_decoded_once_into_an_intermediate(owner, stub_worker):
    image_id = upload(owner.server, imagegen.heic(width=64, height=48), "image/heic", "a.heic")
    stub_worker()
    image = owner.server.get(f"/api/v1/images/{image_id}").json()
    response = get(path_of(image["cdn_url"]) + "?width=32&format=png")
    assert response.status_code == 200
    assert decoded(response).size == (32, 24)
    record = Image.objects.get(id=image_id)
    assert default_storage.exists(
        f"{variants_prefix(record.environment_id, record.id)}intermediate"
    )
    # An untransformed request for a type browsers cannot show is negotiated.
    untransformed = get(path_of(image["cdn_url"]), HTTP_ACCEPT="image/webp,*/*")
    assert untransformed["Content-Type"] == "image/webp"


def test_a_heic_intermediate_keeps_the_colour_profile_and_the_chroma_of_the_source(
    owner, stub_worker
):
    from PIL import ImageCms, JpegImagePlugin

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    PILImage.new("RGB", (64, 48), (200, 30, 30)).save(
        buffer, "HEIF", quality=60, icc_profile=profile
    )
    image_id = upload(owner.server, buffer.getvalue(), "image/heic", "a.heic")
    stub_worker()
    image = owner.server.get(f"/api/v1/images/{image_id}").json()
    assert get(path_of(image["cdn_url"]) + "?width=32&format=jpg").status_code == 200
    record = Image.objects.get(id=image_id)
    key = f"{variants_prefix(record.environment_id, record.id)}intermediate"
    with default_storage.open(key) as stored, PILImage.open(stored) as intermediate:
        assert intermediate.info["icc_profile"] == profile
        assert JpegImagePlugin.get_sampling(intermediate) == 2  # 4:2:0, as the HEIC


@pytest.mark.parametrize("fmt", ["TIFF", "HEIF"])
def test_an_intermediate_and_its_first_variant_are_upright(owner, stub_worker, fmt):
    # A 60x30 picture, left half red, stored rotated (EXIF orientation 6 = shown turned
    # 90° clockwise): upright it is 30x60 with the red half on top.
    picture = PILImage.new("RGB", (60, 30), (0, 0, 255))
    picture.paste((255, 0, 0), (0, 0, 30, 30))
    exif = PILImage.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    picture.save(buffer, fmt, exif=exif.tobytes(), **({"quality": 90} if fmt == "HEIF" else {}))
    mime = "image/tiff" if fmt == "TIFF" else "image/heic"
    image_id = upload(owner.server, buffer.getvalue(), mime, f"rotated.{fmt.lower()}")
    stub_worker()
    url = path_of(owner.server.get(f"/api/v1/images/{image_id}").json()["cdn_url"])
    first = decoded(get(url + "?width=20&format=png"))  # decodes and renders in one job
    later = decoded(get(url + "?width=10&format=png"))  # from the stored intermediate
    assert (first.size, later.size) == ((20, 40), (10, 20))
    for variant in (first, later):
        top, bottom = (
            variant.getpixel((variant.width // 2, 2)),
            variant.getpixel((variant.width // 2, variant.height - 3)),
        )
        assert top[0] > 200 and top[2] < 60, top
        assert bottom[2] > 200 and bottom[0] < 60, bottom


def test_a_first_variant_refused_by_the_limits_still_stores_the_intermediate(
    owner, stub_worker, settings
):
    image_id = upload(owner.server, imagegen.heic(width=64, height=48), "image/heic", "a.heic")
    stub_worker()
    url = path_of(owner.server.get(f"/api/v1/images/{image_id}").json()["cdn_url"])
    settings.IMGWIRE_MAX_OUTPUT_PIXELS = 1000
    refused = get(url + "?width=64&format=png")
    assert refused.status_code == 400
    assert refused.json()["error_type"] == "RenderError", refused.json()
    assert "1,000" in refused.json()["detail"]
    record = Image.objects.get(id=image_id)
    assert default_storage.exists(
        f"{variants_prefix(record.environment_id, record.id)}intermediate"
    )
    assert get(url + "?width=32&format=png").status_code == 200  # 32x24 fits


def test_usage_is_counted_without_a_write_per_request(photo, django_assert_max_num_queries):
    url = path_of(photo["cdn_url"]) + "?width=64"
    get(url)
    with django_assert_max_num_queries(3):  # one image lookup per request, no writes
        for _ in range(3):
            assert get(url).status_code == 200
    flush_usage()
    usage = DeliveryUsageHour.objects.get(environment_id=photo["environment_id"])
    assert usage.requests >= 4
    assert usage.transformations == 1
    assert usage.cache_hits >= 3
    assert usage.transfer_bytes > 0


def test_concurrent_first_requests_render_once(photo, live_server):
    import requests

    url = live_server.url + path_of(photo["cdn_url"]) + "?width=77&format=png"
    flush_usage()
    DeliveryUsageHour.objects.all().delete()
    barrier = threading.Barrier(6)
    statuses = []

    def fetch():
        barrier.wait()
        statuses.append(requests.get(url, timeout=60).status_code)

    threads = [threading.Thread(target=fetch) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 6
    flush_usage()
    usage = DeliveryUsageHour.objects.get(environment_id=photo["environment_id"])
    assert usage.transformations == 1
    assert usage.requests == 6


def test_a_watermark_from_another_image_of_the_environment_is_applied(owner, photo, stub_worker):
    from PIL import Image as PILImageModule

    mark = io.BytesIO()
    PILImageModule.new("RGB", (40, 40), (255, 0, 0)).save(mark, format="PNG")
    mark_id = upload(owner.server, mark.getvalue(), "image/png", "mark.png")
    stub_worker()
    base = path_of(photo["cdn_url"]) + "?format=png&width=200"
    plain = decoded(get(base))
    marked = decoded(get(f"{base}&watermark={mark_id}&watermark_position=southeast"))
    corner = (marked.width - 5, marked.height - 5)
    assert marked.getpixel(corner) != plain.getpixel(corner)


def test_a_watermark_of_another_environment_is_refused(owner, outsider, photo, stub_worker):
    theirs = upload(outsider.server, imagegen.png_rgba(), "image/png", "theirs.png")
    stub_worker()
    response = get(path_of(photo["cdn_url"]) + f"?width=50&watermark={theirs}")
    assert response.status_code == 400
    assert "not a READY image of this environment" in response.json()["detail"]


@pytest.mark.parametrize(
    "query",
    [
        "width=8192&height=8192&enlarge=true&format=png",
        "extend=8192:8192:8192:8192",
        "padding=8192",
        "blur=100&width=2000&enlarge=true",
        "width=8192&height=8192&resizing_type=fill&enlarge=true&dpr=8",
    ],
)
def test_hostile_requests_fail_cleanly_or_stay_within_limits(photo, query):
    response = get(path_of(photo["cdn_url"]) + "?" + query)
    assert response.status_code in (200, 400, 503, 504), response.status_code
    if response.status_code != 200:
        assert response["Cache-Control"] == "no-store"
        assert response.json()["detail"]
    # The server still answers afterwards.
    assert get(path_of(photo["cdn_url"]) + "?width=10").status_code == 200
