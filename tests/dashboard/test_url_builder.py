"""Issue #15: the image page's URL builder covers every delivery parameter and the presets,
is checked by delivery's own parser, and signs URLs of private images (POST, no-store)."""

import io
import re
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
from PIL import Image as PILImage
from rest_framework.test import APIClient

from images.forms_builder import UrlBuilderForm
from images.models import Image, ImageStatus
from images.transform import PARAMETERS, PRESETS, parse_transform
from tests import imagegen
from tests.dashboard.conftest import signed_in
from tests.dashboard.test_images import make_image
from tests.uploads import upload


def page_of(environment, image) -> str:
    return f"/dashboard/{environment.id}/images/{image.id}/"


def cdn_path(url: str) -> str:
    return "/cdn/" + url.split("/cdn/", 1)[1]


def _bytes(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# Uploads are verified by the stub worker, which runs outside the test's transaction.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def photo(owner, stub_worker):
    image_id = upload(owner.server, imagegen.jpeg(width=600, height=400), "image/jpeg", "p.jpg")
    stub_worker()
    return Image.objects.with_environment().get(id=image_id)


@pytest.fixture
def private(owner, stub_worker):
    image_id = upload(
        owner.server, imagegen.jpeg(width=600, height=400), "image/jpeg", "s.jpg", is_private=True
    )
    stub_worker()
    return Image.objects.with_environment().get(id=image_id)


def test_every_parameter_of_the_transform_registry_has_a_labelled_field_with_its_hint(owner):
    image = make_image(owner.environment)
    page = signed_in(owner.user).get(page_of(owner.environment, image)).content.decode()
    form = UrlBuilderForm()
    for name in PARAMETERS:
        assert name in form.fields, f"{name} has no field in the URL builder"
        assert f'name="{name}"' in page
        assert f'<label for="id_{name}">' in page
        assert f'id="id_{name}_helptext"' in page
        assert f'aria-describedby="id_{name}_helptext"' in page
    shown = [field.name for group in form.fieldsets() for field in group["fields"]]
    assert sorted(shown) == sorted(PARAMETERS)


def test_enumerations_are_selects_of_the_parsers_words_and_booleans_checkboxes(owner):
    form = UrlBuilderForm()
    formats = [value for value, _ in form.fields["format"].widget.choices]
    assert formats == ["", "jpeg", "png", "webp", "avif", "gif", "tiff"]
    resizing = [value for value, _ in form.fields["resizing_type"].widget.choices]
    assert resizing == ["", "cover", "contain", "fill", "inside", "outside"]
    assert form["enlarge"].widget_type == "boolcheckbox"
    assert form["crop"].widget_type == "text"
    presets = [value for value, _ in form.fields["preset"].choices]
    assert presets == ["", *PRESETS]


def test_a_valid_query_gives_the_canonical_cdn_url_and_its_preview(owner, photo):
    client = signed_in(owner.user)
    query = {"width": "0300", "blur": "2.50", "format": "jpg", "resizing_type": "fit"}
    page = client.get(page_of(owner.environment, photo), query)
    assert page.status_code == 200
    url = page.context["preview_url"]
    assert url == f"{photo.cdn_url}?blur=2.5&format=jpeg&resizing_type=inside&width=300"
    spelled = parse_transform(parse_qsl(urlsplit(url).query))
    assert spelled.canonical() == urlsplit(url).query  # delivery's own canonical form
    own = page.context["builder_preview_url"]
    assert own.endswith("/preview/?blur=2.5&format=jpeg&resizing_type=inside&width=300")
    shown = PILImage.open(io.BytesIO(_bytes(client.get(own))))
    assert shown.size == (300, 200)
    assert APIClient().get(cdn_path(url)).status_code == 200


def test_a_synonym_written_in_the_address_shows_as_its_word_in_the_select(owner, photo):
    query = {"format": "jpg", "resizing_type": "fit", "progressive": "yes", "rotate": "90"}
    page = signed_in(owner.user).get(page_of(owner.environment, photo), query)
    text = page.content.decode()
    for name, word in (("format", "jpeg"), ("resizing_type", "inside"), ("progressive", "true")):
        chosen = re.search(rf'<select name="{name}".*?</select>', text, re.S).group(0)
        assert f'<option value="{word}" selected>' in chosen, name


def test_a_bad_value_is_a_400_naming_it_while_the_other_fields_still_apply(owner, photo):
    page = signed_in(owner.user).get(
        page_of(owner.environment, photo), {"width": "120", "blur": "9000", "enlarge": "maybe"}
    )
    assert page.status_code == 400
    text = page.content.decode()
    assert "Blur (sigma) \u201c9000\u201d was ignored: blur" in text
    assert "Allow enlarging \u201cmaybe\u201d was ignored" in text
    assert page.context["preview_url"] == f"{photo.cdn_url}?width=120"
    assert page.context["builder_preview_url"].endswith("/preview/?width=120")
    assert 'aria-invalid="true"' in text


def test_a_watermark_modifier_without_a_source_is_named_by_the_parsers_rule(owner, photo):
    page = signed_in(owner.user).get(
        page_of(owner.environment, photo), {"watermark_size": "120", "height": "50"}
    )
    assert page.status_code == 400
    assert "watermark_size needs a watermark source" in page.content.decode()
    assert page.context["preview_url"] == f"{photo.cdn_url}?height=50"


def test_a_preset_goes_into_the_path_and_the_preview_query(owner, photo):
    client = signed_in(owner.user)
    page = client.get(page_of(owner.environment, photo), {"preset": "thumbnail", "gravity": "n"})
    assert page.context["preview_url"] == f"{photo.cdn_url}@thumbnail?gravity=north"
    own = page.context["builder_preview_url"]
    assert own.endswith("/preview/?preset=thumbnail&gravity=north")
    assert PILImage.open(io.BytesIO(_bytes(client.get(own)))).size == (150, 150)
    assert APIClient().get(cdn_path(page.context["preview_url"])).status_code == 200
    unknown = client.get(page_of(owner.environment, photo), {"preset": "giant"})
    assert unknown.status_code == 400
    assert "Preset \u201cgiant\u201d was ignored" in unknown.content.decode()


def test_the_builder_view_answers_the_url_and_the_refused_fields_as_json(owner, photo):
    url = page_of(owner.environment, photo) + "builder/"
    client = signed_in(owner.user)
    good = client.get(url, {"w": "", "width": "80", "format": ""})
    assert good.status_code == 200
    assert good.json()["url"] == f"{photo.cdn_url}?width=80"
    assert good.json()["problems"] == []
    bad = client.get(url, {"width": "80", "quality": "101"})
    assert bad.status_code == 400
    assert bad.json()["url"] == f"{photo.cdn_url}?width=80"
    assert bad.json()["problems"][0].startswith("Quality \u201c101\u201d was ignored")
    assert bad.json()["preview_url"].endswith("/preview/?width=80")


def test_the_builder_view_is_for_members_of_the_images_environment_only(owner, outsider, photo):
    url = page_of(owner.environment, photo) + "builder/"
    assert signed_in(outsider.user).get(url).status_code == 404
    elsewhere = f"/dashboard/{outsider.environment.id}/images/{photo.id}/builder/"
    assert signed_in(outsider.user).get(elsewhere).status_code == 404
    assert APIClient().get(url).status_code == 302  # anonymous: to sign in


def test_the_page_is_readable_dates_sizes_reason_download_and_back_link(owner):
    image = make_image(
        owner.environment,
        size_bytes=3 * 1024 * 1024 + 1,
        status=ImageStatus.QUARANTINE,
        status_reason="the bytes are not a PNG",
    )
    Image.objects.filter(id=image.id).update(created_at=datetime(2026, 12, 2, 20, 45, tzinfo=UTC))
    client = signed_in(owner.user)
    text = client.get(page_of(owner.environment, image)).content.decode()
    assert ">CDN URL<" in text and "cdn_url" not in text
    assert "2 Dec 2026, 20:45 UTC" in text
    assert "3 MiB (3145729 bytes)" in text
    assert "This image was quarantined because: the bytes are not a PNG." in text
    assert f'<a href="/dashboard/{owner.environment.id}/images/">&larr; Back to images' in text
    session = client.session
    session["dashboard_images_back"] = {str(owner.environment.id): "status=READY&page=2"}
    session.save()
    text = client.get(page_of(owner.environment, image)).content.decode()
    assert f'href="/dashboard/{owner.environment.id}/images/?status=READY&amp;page=2"' in text


def test_a_ready_image_links_to_the_dashboards_original_download(owner, photo):
    text = signed_in(owner.user).get(page_of(owner.environment, photo)).content.decode()
    original = f"/dashboard/{owner.environment.id}/images/{photo.id}/original/"
    assert f'<a href="{original}">Download the original</a>' in text


# --- signed URLs of private images ---------------------------------------------------------


def test_a_private_image_says_its_url_answers_404_unsigned_and_offers_a_signed_one(owner, private):
    text = signed_in(owner.user).get(page_of(owner.environment, private)).content.decode()
    assert "this URL answers 404 unless it is signed" in text
    assert "Copy signed URL" in text
    assert APIClient().get(cdn_path(private.cdn_url)).status_code == 404


def test_a_member_gets_a_signed_url_of_the_builders_transformation_that_delivers(
    owner, developer, private
):
    url = page_of(owner.environment, private) + "builder/signed/"
    answer = signed_in(developer).post(
        url,
        {"width": "120", "preset": "small", "valid_for": "86400"},
        HTTP_ACCEPT="application/json",
    )
    assert answer.status_code == 200, answer.content
    assert answer["Cache-Control"] == "no-store"
    signed = answer.json()["url"]
    assert answer.json()["valid_for"] == "1 day"
    assert signed.startswith(f"{private.cdn_url}@small?width=120&ik-t=")
    expiry = int(parse_qs(urlsplit(signed).query)["ik-t"][0])
    assert abs(expiry - (time.time() + 86400)) < 60
    delivered = APIClient().get(cdn_path(signed))
    assert delivered.status_code == 200
    assert PILImage.open(io.BytesIO(_bytes(delivered))).size[0] == 120


def test_a_signed_url_is_refused_for_a_bad_value_or_validity_and_never_redirected(owner, private):
    url = page_of(owner.environment, private) + "builder/signed/"
    client = signed_in(owner.user)
    bad = client.post(url, {"width": "x", "valid_for": "3600"}, HTTP_ACCEPT="application/json")
    assert bad.status_code == 400
    assert bad["Cache-Control"] == "no-store"
    assert bad.json()["problems"][0].startswith("Width \u201cx\u201d was ignored")
    forever = client.post(url, {"valid_for": "0"}, HTTP_ACCEPT="application/json")
    assert forever.status_code == 400
    assert "1 hour, 1 day or 1 week" in forever.json()["problems"][0]


def test_the_signed_url_view_refuses_get_and_other_environments(owner, outsider, private):
    url = page_of(owner.environment, private) + "builder/signed/"
    assert signed_in(owner.user).get(url).status_code == 405
    body = {"valid_for": "3600"}
    assert signed_in(outsider.user).post(url, body).status_code == 404
    elsewhere = f"/dashboard/{outsider.environment.id}/images/{private.id}/builder/signed/"
    refused = signed_in(outsider.user).post(elsewhere, body, HTTP_ACCEPT="application/json")
    assert refused.status_code == 404


def test_without_javascript_the_signed_url_is_shown_on_the_page_not_in_an_address(owner, private):
    url = page_of(owner.environment, private) + "builder/signed/"
    answer = signed_in(owner.user).post(url, {"width": "50", "valid_for": "3600"})
    assert answer.status_code == 200
    assert answer["Cache-Control"] == "no-store"
    signed = answer.context["signed_url"]
    assert signed.startswith(f"{private.cdn_url}?width=50&ik-t=")
    assert signed in answer.content.decode().replace("&amp;", "&")
    assert APIClient().get(cdn_path(signed)).status_code == 200
