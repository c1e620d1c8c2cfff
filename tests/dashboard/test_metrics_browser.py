"""The metrics page in a real Chromium at desktop (1440x900) and phone (390x844) sizes: the
six uPlot charts replace the server-drawn lines, hovering a chart shows a tooltip with
this period's and the previous period's value, nothing is logged to the console and the
page never scrolls sideways. Without JavaScript the server-drawn lines and the tables are
the page. Chromium is Debian's, launched by path (no browser download at test time)."""

import os
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.dashboard.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, DESKTOP, NO_OVERFLOW, PHONE
from tests.metrics.data import ready_image, usage

pytestmark = pytest.mark.django_db(transaction=True)

MAIN_FITS = """() => [...document.querySelectorAll('main *')]
  .every(e => e.getBoundingClientRect().right <= window.innerWidth + 0.5)"""
# For the failure message: the first elements that reach past the right edge.
OVERFLOWING = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5)
  .slice(0, 5)
  .map(e => e.tagName + '.' + e.className.toString() + ' ' + e.textContent.slice(0, 40))"""


def _usage_for_sixty_days(environment) -> None:
    """Sixty days of traffic, so both periods of a 30-day range have a line to draw."""
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    for day in range(60):
        hour = (now - timedelta(days=day, hours=1)).isoformat()
        usage(
            environment,
            hour,
            requests=10 + day,
            cache_hits=day,
            transfer_bytes=(day + 1) * 1024**2,
        )
        ready_image(environment, hour, 300 * 1024)


def _signed_in_page(browser, base: str, size: dict, pages: list, **context):
    page = browser.new_context(viewport=size, **context).new_page()
    pages.append(page)
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", "owner@example.com")
    page.fill("#id_password", "pw-" + "owner" * 3)
    page.click("main button[type=submit]")
    page.wait_for_url("**/dashboard/**")
    return page


def _charts_with_tooltips(browser, metrics_url: str, base: str, size: dict, pages: list):
    page = _signed_in_page(browser, base, size, pages)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else 0)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(metrics_url)
    page.wait_for_function(
        "() => document.querySelectorAll('.metrics-chart[data-drawn] .uplot canvas').length == 6"
    )
    assert page.locator(".metrics-fallback").evaluate_all(
        "svgs => svgs.every(s => getComputedStyle(s).display == 'none')"
    )
    chart = page.locator('.metrics-chart[data-series="requests"]')
    chart.scroll_into_view_if_needed()
    # Axes: tick labels on both, the time axis in the chosen zone.
    assert chart.locator(".u-axis").count() == 2
    box = chart.locator(".u-over").bounding_box()
    assert box["width"] > 200 and box["x"] + box["width"] <= size["width"]
    tip = chart.locator(".metrics-tooltip")
    for x in (box["x"] + box["width"] * 0.5, box["x"] + box["width"] - 2):
        page.mouse.move(x, box["y"] + box["height"] * 0.5)
        tip.wait_for(state="visible")
        text = tip.inner_text()
        assert "This period: " in text and "Previous (" in text, text
        tip_box = tip.bounding_box()
        assert tip_box["x"] >= 0 and tip_box["x"] + tip_box["width"] <= size["width"]
        assert page.evaluate(NO_OVERFLOW), (size, page.evaluate(OVERFLOWING))
    page.mouse.move(1, 1)
    tip.wait_for(state="hidden")
    # The data table stays under each chart.
    assert page.locator("details table.metrics-table").count() == 6
    assert page.evaluate(NO_OVERFLOW), (size, page.evaluate(OVERFLOWING))
    assert problems == []


def _works_without_javascript(browser, metrics_url: str, base: str, pages: list):
    page = _signed_in_page(browser, base, PHONE, pages, java_script_enabled=False)
    page.goto(metrics_url)
    assert page.locator("svg.metrics-fallback polyline.current").count() == 6
    assert page.locator(".uplot").count() == 0
    page.locator("details summary").first.click()
    assert page.locator("table.metrics-table").first.locator("tbody tr").count() == 30
    # Only the page's own content: without JavaScript the header's switcher grows a
    # "Switch" button, which is base.html's to fit.
    assert page.evaluate(MAIN_FITS), page.evaluate(OVERFLOWING)


def test_the_metrics_charts_draw_with_tooltips_at_desktop_and_phone_sizes(live_server, owner):
    from playwright.sync_api import sync_playwright

    _usage_for_sixty_days(owner.environment)
    base = live_server.url
    metrics_url = f"{base}/dashboard/{owner.environment.id}/metrics/?range=30d&tz=Europe%2FParis"
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # the ORM is read between page steps
    pages: list = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                for size in (DESKTOP, PHONE):
                    _charts_with_tooltips(browser, metrics_url, base, size, pages)
                _works_without_javascript(browser, metrics_url, base, pages)
            except Exception:
                ARTIFACTS.mkdir(exist_ok=True)
                for number, page in enumerate(pages):
                    page.screenshot(path=str(ARTIFACTS / f"metrics-{number}.png"), full_page=True)
                raise
            finally:
                browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
