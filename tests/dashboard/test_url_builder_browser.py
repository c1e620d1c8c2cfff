"""The image page's URL builder in a real Chromium at desktop (1440x900) and phone (390x844)
sizes: typing a width and a blur updates the canonical URL and the preview (its pixel size
shown once loaded), Copy puts the URL on the clipboard, a bad value shows its sentence, and
a private image's "Copy signed URL" copies a URL that delivers. Chromium is Debian's,
launched by path (no browser download at test time)."""

import pytest

from images.models import Image
from tests import imagegen
from tests.dashboard.browser import CLIPBOARD_ACCESS, DESKTOP, NO_OVERFLOW, PHONE
from tests.dashboard.walks import walking
from tests.uploads import upload

pytestmark = pytest.mark.django_db(transaction=True)

CLIPBOARD = "() => navigator.clipboard.readText()"
# The signed URL names Imgwire's public address; the page fetches its path from the server
# under test instead.
FETCH_PATH = """async (url) => {
  const parsed = new URL(url);
  return (await fetch(parsed.pathname + parsed.search)).status;
}"""


def _build_and_copy(page, base: str, image) -> None:
    page.goto(f"{base}/dashboard/{image.environment_id}/images/{image.id}/")
    page.fill("#id_width", "200")
    page.click("summary:has-text('Colour and effects')")
    page.fill("#id_blur", "2")
    page.wait_for_function(
        "() => document.getElementById('preview-size').textContent === '200 × 133 px'"  # noqa: RUF001 - the page's own sign
    )
    assert page.evaluate("document.getElementById('preview').naturalWidth") == 200
    assert page.input_value("#builder-url") == f"{image.cdn_url}?blur=2&width=200"
    assert page.url.endswith("?width=200&blur=2")  # a reload keeps the fields
    page.click("#copy-url")
    page.wait_for_function("() => document.getElementById('copy-url-status').textContent")
    assert page.evaluate(CLIPBOARD) == f"{image.cdn_url}?blur=2&width=200"

    page.fill("#id_width", "huge")
    page.wait_for_selector("#preview-error:not([hidden])")
    assert "Width \u201chuge\u201d was ignored" in page.inner_text("#preview-error")
    page.wait_for_function("() => document.getElementById('builder-url').value.endsWith('?blur=2')")
    assert page.evaluate(NO_OVERFLOW)


def _copy_signed(page, base: str, image) -> None:
    page.goto(f"{base}/dashboard/{image.environment_id}/images/{image.id}/?width=120")
    assert "answers 404 unless it is signed" in page.inner_text("#builder-url-note")
    page.select_option("#id_valid_for", "86400")
    page.click("#copy-signed")
    page.wait_for_function(
        "() => document.getElementById('signed-status').textContent.startsWith('Copied')"
    )
    signed = page.evaluate(CLIPBOARD)
    assert signed.startswith(f"{image.cdn_url}?width=120&ik-t=")
    assert page.evaluate(FETCH_PATH, image.cdn_url) == 404  # unsigned
    assert page.evaluate(FETCH_PATH, signed) == 200
    assert "ik-s" not in page.url  # never in the page's address
    assert page.evaluate(NO_OVERFLOW)


def test_the_url_builder_previews_copies_and_signs_at_desktop_and_phone_sizes(
    live_server, settings, owner, stub_worker
):
    public_id = upload(owner.server, imagegen.jpeg(width=600, height=400), "image/jpeg", "p.jpg")
    private_id = upload(
        owner.server, imagegen.jpeg(width=600, height=400), "image/jpeg", "s.jpg", is_private=True
    )
    stub_worker()
    public = Image.objects.with_environment().get(id=public_id)
    private = Image.objects.with_environment().get(id=private_id)
    with walking(live_server, settings, "url-builder") as walk:
        for size in (DESKTOP, PHONE):
            page = walk.sign_in(
                size, "owner@example.com", "pw-" + "owner" * 3, permissions=CLIPBOARD_ACCESS
            )
            _build_and_copy(page, walk.base, public)
            _copy_signed(page, walk.base, private)
