"""Issue #15: invalid filter, time-zone and date input is not ignored silently: the page
answers 400, names the bad value, and shows what it could with the rest."""

from images.models import ImageStatus
from tests.dashboard.conftest import signed_in
from tests.dashboard.test_images import make_image


def _names(response) -> list[str]:
    return [image.original_filename for image in response.context["page"]]


def test_a_bad_date_filter_is_named_and_the_other_filters_still_apply(owner):
    make_image(owner.environment, name="cat.png")
    make_image(owner.environment, name="dog.png")
    response = signed_in(owner.user).get(
        f"/dashboard/{owner.environment.id}/images/", {"q": "cat", "created_from": "2024-13-45"}
    )
    assert response.status_code == 400
    assert _names(response) == ["cat.png"]
    text = response.content.decode()
    assert "From \u201c2024-13-45\u201d was ignored: Enter a valid date." in text


def test_an_unknown_status_filter_is_named(owner):
    make_image(owner.environment, name="cat.png", status=ImageStatus.READY)
    response = signed_in(owner.user).get(
        f"/dashboard/{owner.environment.id}/images/", {"status": "SHINY"}
    )
    assert response.status_code == 400
    assert "Status \u201cSHINY\u201d was ignored" in response.content.decode()
    assert _names(response) == ["cat.png"]


def test_a_page_that_does_not_exist_is_named(owner):
    make_image(owner.environment)
    response = signed_in(owner.user).get(
        f"/dashboard/{owner.environment.id}/images/", {"page": "x"}
    )
    assert response.status_code == 400
    assert "There is no page \u201cx\u201d; this is page 1." in response.content.decode()


def test_valid_filters_answer_200_without_a_message(owner):
    response = signed_in(owner.user).get(
        f"/dashboard/{owner.environment.id}/images/", {"created_from": "2024-01-01", "page": "1"}
    )
    assert response.status_code == 200
    assert response.context["problems"] == []


def test_a_bad_url_builder_value_is_named(owner):
    image = make_image(owner.environment)
    response = signed_in(owner.user).get(
        f"/dashboard/{owner.environment.id}/images/{image.id}/", {"width": "-3"}
    )
    assert response.status_code == 400
    assert "Width \u201c-3\u201d was ignored" in response.content.decode()
    assert response.context["builder_preview_url"] is None


def test_an_unknown_time_zone_and_interval_are_named_and_defaults_shown(owner):
    response = signed_in(owner.user).get(
        f"/dashboard/{owner.environment.id}/metrics/", {"tz": "Mars/Olympus", "interval": "nope"}
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "got &#x27;Mars/Olympus&#x27;. Showing UTC instead." in text
    assert "Interval \u201cnope\u201d is not one of hourly, daily, weekly, monthly" in text
    assert response.context["tz"] == "UTC"
    assert response.context["interval"] == "DAILY"


def test_a_custom_date_range_shows_those_days(owner):
    response = signed_in(owner.user).get(
        f"/dashboard/{owner.environment.id}/metrics/",
        {"date_from": "2026-03-01", "date_to": "2026-03-07", "tz": "Europe/Paris"},
    )
    assert response.status_code == 200
    rows = response.context["charts"][0]["rows"]
    assert [label for label, _ in rows] == [f"2026-03-0{d}" for d in range(1, 8)]


def test_a_bad_date_or_a_reversed_range_is_named_and_the_default_range_shown(owner):
    client = signed_in(owner.user)
    url = f"/dashboard/{owner.environment.id}/metrics/"
    bad = client.get(url, {"date_from": "yesterday"})
    assert bad.status_code == 400
    assert "From \u201cyesterday\u201d is not a date" in bad.content.decode()
    assert len(bad.context["charts"][0]["rows"]) == 30
    reversed_range = client.get(url, {"date_from": "2026-03-07", "date_to": "2026-03-01"})
    assert reversed_range.status_code == 400
    assert "From 2026-03-07 is after To 2026-03-01: the range is reversed." in (
        reversed_range.content.decode()
    )
    ancient = client.get(url, {"date_from": "0001-01-01", "interval": "MONTHLY"})
    assert ancient.status_code == 400
    assert "between the years 1970 and 2999" in ancient.content.decode()
