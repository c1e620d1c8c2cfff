"""Issue #15, the uploader in a real Chromium: a file of a type Imgwire does not accept is
refused in its row without a request, no more than three files are sent at once (the
others wait), a failed file succeeds on Retry in the same row, previews give way to the
server's thumbnails, and after a reload the results are listed by the server. Then an
upload still being verified when the page loads is followed until it is READY.

PUTs are held by ``page.route`` until the test lets them go, so the bound is observed while
it binds, not measured against timing."""

import dramatiq
import pytest

from images.models import Image, ImageStatus
from images.views_upload import uploader_key_name
from imgwire_site.broker import broker, stop_worker
from keys.models import ApiKeyType
from keys.services import api_key_create
from tests.dashboard.browser import DESKTOP, PHONE
from tests.dashboard.walks import assert_fits, drop, walking
from tests.imagegen import jpeg, png_rgba
from tests.uploads import upload

pytestmark = pytest.mark.django_db(transaction=True)

OWNER_EMAIL = "owner@example.com"
OWNER_PASSWORD = "pw-" + "owner" * 3
IMAGES = ["one.jpg", "two.png", "three.jpg", "four.png"]
THUMBNAILS_LOADED = """(count) => {
  const thumbs = [...document.querySelectorAll("li.upload[data-status=READY] img.thumb")];
  return thumbs.length === count && thumbs.every((img) =>
    img.src.includes("/preview/?preset=thumbnail") && img.complete && img.naturalWidth > 0);
}"""


def _files():
    return [
        ("one.jpg", "image/jpeg", jpeg(320, 240)),
        ("two.png", "image/png", png_rgba(200, 100)),
        ("holiday.pdf", "application/pdf", b"%PDF-1.4 not an image"),
        ("three.jpg", "image/jpeg", jpeg(64, 48)),
        ("four.png", "image/png", png_rgba(40, 40)),
    ]


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_uploader_checks_queues_retries_and_lists_its_results_after_a_reload(
    live_server, settings, owner, stub_worker, size
):
    with walking(live_server, settings, f"uploader-{size['width']}") as walk:
        page = walk.sign_in(size, OWNER_EMAIL, OWNER_PASSWORD)
        page.goto(f"{walk.base}/dashboard/{owner.environment.id}/images/upload/")
        assert "Accepted types: JPEG, JPEG XL, PNG" in page.inner_text("#limits")

        sent = []
        puts = {"now": 0, "most": 0}

        def started(request):
            sent.append(request)
            if request.method == "PUT":
                puts["now"] += 1
                puts["most"] = max(puts["most"], puts["now"])

        def ended(request):
            if request.method == "PUT":
                puts["now"] -= 1

        page.on("request", started)
        page.on("requestfinished", ended)
        page.on("requestfailed", ended)
        held, letting_go = [], []

        def hold(route):
            if route.request.method == "PUT" and not letting_go:
                held.append(route)
            else:
                route.continue_()

        page.route("**/ingest/**", hold)
        drop(page, *_files())

        refused = page.wait_for_selector("li.upload[data-status=refused]")
        assert "holiday.pdf is a PDF; accepted: JPEG, JPEG XL, PNG, WebP" in refused.inner_text()
        assert refused.query_selector("button") is None  # nothing to retry: it was never sent
        page.wait_for_selector("li.upload[data-status=uploading] >> nth=2")
        while puts["now"] < 3:
            page.wait_for_event("request", predicate=lambda request: request.method == "PUT")
        page.evaluate("1")  # a round trip: the held routes' messages are in by now
        assert len(held) == 3
        assert page.locator("li.upload[data-status=waiting]").count() == 1
        assert page.inner_text("li.upload[data-status=waiting] .badge") == "waiting"

        # The first held PUT fails as a refusing storage would; the others go through.
        letting_go.append(True)
        held[0].fulfill(status=500, body="storage down")
        for route in held[1:]:
            route.continue_()
        failed = page.wait_for_selector("li.upload[data-status=failed]", timeout=30_000)
        assert "Nothing was kept" in failed.inner_text()
        name = failed.query_selector(".name").inner_text()
        page.wait_for_selector("li.upload[data-status=READY] >> nth=2", timeout=60_000)
        page.click(f"button[aria-label='Retry {name}']")
        page.wait_for_selector("li.upload[data-status=READY] >> nth=3", timeout=60_000)
        assert failed.get_attribute("data-status") == "READY"  # the same row, retried
        page.wait_for_function(THUMBNAILS_LOADED, arg=4)
        assert page.locator("li.upload[data-status=READY] .pct").all_inner_texts() == ["100%"] * 4

        posts = [r for r in sent if r.method == "POST"]
        creates = [r for r in posts if "/api/v1/images/standard_upload" in r.url]
        credentials = [r.post_data for r in posts if r.url.endswith("/upload/credentials/")]
        assert credentials == ["count=4", "count=1"]
        assert len(creates) == 5
        assert not any("holiday.pdf" in (r.post_data or "") for r in sent)
        assert len([r for r in sent if r.method == "PUT"]) == 5
        assert puts["most"] == 3
        assert_fits(page)

        page.reload()
        page.wait_for_function(THUMBNAILS_LOADED, arg=4)
        listed = page.locator("#uploads li.upload .name").all_inner_texts()
        assert sorted(listed) == sorted(IMAGES)
        assert page.locator("li.upload[data-live]").count() == 0
        assert (
            page.locator("#uploads li.upload[data-status=READY] .badge").all_inner_texts()
            == ["ready"] * 4
        )
        stored = Image.objects.filter(environment=owner.environment)
        assert sorted(stored.values_list("original_filename", "status")) == sorted(
            (name, ImageStatus.READY) for name in IMAGES
        )
        assert_fits(page)


def test_an_upload_still_being_verified_when_the_page_loads_is_followed_until_ready(
    live_server, settings, owner
):
    _, secret = api_key_create(
        environment=owner.environment,
        name=uploader_key_name(owner.user),
        key_type=ApiKeyType.CLIENT,
        minted_for=owner.user,
    )
    with walking(live_server, settings, "uploader-follow") as walk:
        # Received but not verified yet: no worker runs until the page is open.
        image_id = upload(owner.client(secret), jpeg(120, 90), "image/jpeg", "later.jpg")
        page = walk.sign_in(DESKTOP, OWNER_EMAIL, OWNER_PASSWORD)
        page.goto(f"{walk.base}/dashboard/{owner.environment.id}/images/upload/")
        row = page.locator(f"li.upload[data-id='{image_id}']")
        assert row.get_attribute("data-follow") == "true"
        assert row.get_attribute("data-status") != "READY"
        worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
        worker.start()
        try:
            page.wait_for_selector(
                f"li.upload[data-id='{image_id}'][data-status=READY]", timeout=60_000
            )
            page.wait_for_function(THUMBNAILS_LOADED, arg=1)
        finally:
            stop_worker(worker)
        assert row.locator(".badge").inner_text() == "ready"
