"""The images page in a real Chromium at desktop and phone sizes: the list view keeps its
labels and fits, "select all" selects the page and the bulk zip takes every image, a copy
button puts the image's CDN URL on the clipboard, and the image page leads back to the
list as it was left."""

import pytest

from images.models import ImageDownloadJob
from tests.dashboard.browser import CLIPBOARD_ACCESS, DESKTOP, PHONE
from tests.dashboard.test_images import make_image
from tests.dashboard.walks import assert_fits, walking

pytestmark = pytest.mark.django_db(transaction=True)

BOTH_SIZES = pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])


@BOTH_SIZES
def test_select_all_in_the_list_view_selects_the_page_and_the_zip_takes_every_image(
    live_server, settings, owner, size
):
    made = [
        make_image(owner.environment, name=f"{'a-very-long-file-name-' * 4}{n}.png", size_bytes=9)
        for n in range(3)
    ]
    with walking(live_server, settings, f"list-select-{size['width']}") as walk:
        page = walk.sign_in(size, "owner@example.com", "pw-" + "owner" * 3)
        page.goto(f"{walk.base}/dashboard/{owner.environment.id}/images/?view=list&sort=name")
        assert page.locator("tr[data-status]").count() == 3
        assert_fits(page)
        if size is PHONE:  # cells are blocks there, each with its column's name
            assert "Dimensions:" in page.locator(
                "tr[data-status] td[data-label=Dimensions]"
            ).first.evaluate("cell => getComputedStyle(cell, '::before').content")
        page.check("#select-all")
        assert page.locator('input[name="ids"]:checked').count() == 3
        assert page.inner_text("#selected-count") == "3 selected"
        page.locator('input[name="ids"]').first.uncheck()
        assert page.evaluate("document.getElementById('select-all').indeterminate")
        page.check("#select-all")
        page.click("button[value=download]")
        page.wait_for_url("**/downloads/**")
        job = ImageDownloadJob.objects.get()
        assert sorted(str(i) for i in job.image_ids) == sorted(str(i.id) for i in made)


@BOTH_SIZES
def test_copy_url_puts_the_images_cdn_url_on_the_clipboard_and_back_returns_to_the_list(
    live_server, settings, owner, size
):
    image = make_image(owner.environment, name="harbour.png", size_bytes=9, is_private=True)
    with walking(live_server, settings, f"list-copy-{size['width']}") as walk:
        page = walk.sign_in(
            size, "owner@example.com", "pw-" + "owner" * 3, permissions=CLIPBOARD_ACCESS
        )
        listing = f"{walk.base}/dashboard/{owner.environment.id}/images/?view=list&sort=oldest"
        page.goto(listing)
        page.click("button[aria-label='Copy URL of harbour.png']")
        page.wait_for_function("document.getElementById('copy-status').textContent !== ''")
        status = page.inner_text("#copy-status")
        assert status.startswith("Copied the URL of harbour.png.")
        assert "answers 404 unless signed" in status  # it is private
        image.environment = owner.environment
        assert page.evaluate("navigator.clipboard.readText()") == image.cdn_url
        page.click("td.name a")
        page.wait_for_url("**/images/*/")
        page.click("a:has-text('Back to images')")
        page.wait_for_url(listing)
        assert page.url == listing
        assert page.locator("nav.views a[aria-current=page]").inner_text() == "List"
        assert_fits(page)
