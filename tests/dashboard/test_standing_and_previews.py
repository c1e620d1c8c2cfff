"""Issue #15: a blocked or over-quota organization is told on every page; previews in the
dashboard keep working for members and are sized, not the original."""

import io

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image as PILImage

from environments.models import BillingPlan, EnforcementMode, SubscriptionStatus
from environments.quotas import forget_cached_usage
from images.models import Image
from metrics.models import DeliveryUsageHour
from tests import imagegen
from tests.dashboard.conftest import signed_in
from tests.uploads import upload

PAGES = ["", "images/", "images/upload/", "team/", "environments/", "domains/", "metrics/", "keys/"]


def _plan(owner, **limits):
    BillingPlan.objects.filter(organizations=owner.organization).update(**limits)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_of_a_blocked_organization_says_what_is_blocked_and_why(owner, page):
    owner.organization.blocked = True
    owner.organization.save()
    response = signed_in(owner.user).get(f"/dashboard/{owner.environment.id}/{page}")
    text = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert"' in text
    assert "Uploads and delivery are blocked." in text
    assert "ask the operator of this Imgwire install to unblock it" in text


def test_an_organization_in_good_standing_sees_no_banner(owner):
    response = signed_in(owner.user).get(f"/dashboard/{owner.environment.id}/")
    assert response.context["standing_notices"] == []
    assert b'aria-label="Organization status"' not in response.content


def test_a_canceled_subscription_is_named(owner):
    owner.organization.subscription_status = SubscriptionStatus.CANCELED
    owner.organization.save()
    text = signed_in(owner.user).get(f"/dashboard/{owner.environment.id}/team/").content.decode()
    assert "subscription is CANCELED" in text


def test_a_past_due_subscription_is_a_warning_that_everything_still_works(owner):
    owner.organization.subscription_status = SubscriptionStatus.PAST_DUE
    owner.organization.save()
    text = signed_in(owner.user).get(f"/dashboard/{owner.environment.id}/").content.decode()
    assert "Payment is past due." in text


def test_an_organization_at_its_upload_limit_is_told_and_the_overview_says_so(owner):
    _plan(owner, upload_limit=1, storage_bytes_limit=10)
    from tests.dashboard.test_images import make_image

    make_image(owner.environment, size_bytes=25)
    response = signed_in(owner.user).get(f"/dashboard/{owner.environment.id}/")
    text = response.content.decode()
    assert "Uploads are refused." in text
    assert "has used 1 of the 1 uploads" in text
    rows = {row["label"]: row["state"] for row in response.context["usage"]}
    assert rows["Uploads this period"] == "limit reached"
    assert rows["Storage"] == "over the limit"
    assert "over the limit</strong>" in text


def test_delivery_paused_by_a_quota_is_named(owner):
    _plan(owner, transformations_limit=5)
    owner.organization.transformations_enforcement_mode = EnforcementMode.BLOCK_ALL
    owner.organization.save()
    DeliveryUsageHour.objects.create(
        environment=owner.environment,
        hour=timezone.now().replace(minute=0, second=0, microsecond=0),
        transformations=7,
    )
    forget_cached_usage()
    text = signed_in(owner.user).get(f"/dashboard/{owner.environment.id}/").content.decode()
    assert "Public delivery is limited." in text
    assert "delivery is paused until the next period" in text


def test_the_banner_of_a_blocked_organization_costs_no_query(owner):
    client = signed_in(owner.user)
    url = f"/dashboard/{owner.environment.id}/team/"
    client.get(url)
    with CaptureQueriesContext(connection) as standing:
        client.get(url)
    owner.organization.blocked = True
    owner.organization.save()
    with CaptureQueriesContext(connection) as blocked:
        client.get(url)
    assert len(blocked) == len(standing)


# --- previews ----------------------------------------------------------------------------


@pytest.fixture
def big_photo(owner, stub_worker):
    image_id = upload(owner.server, imagegen.jpeg(width=2400, height=1600), "image/jpeg", "big.jpg")
    stub_worker()
    return Image.objects.get(id=image_id)


def _bytes(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.django_db(transaction=True)
def test_the_image_page_previews_a_sized_variant_not_the_original(owner, big_photo):
    client = signed_in(owner.user)
    page = client.get(f"/dashboard/{owner.environment.id}/images/{big_photo.id}/")
    preview = page.context["large_preview_url"]
    assert f'src="{preview}"' in page.content.decode()
    assert f'src="{big_photo.cdn_url}"' not in page.content.decode()
    response = client.get(preview)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, max-age=3600"
    shown = PILImage.open(io.BytesIO(_bytes(response)))
    assert shown.size == (1024, 683)
    assert int(response["Content-Length"]) < big_photo.size_bytes


@pytest.mark.django_db(transaction=True)
def test_previews_keep_working_for_members_of_a_blocked_organization(owner, big_photo):
    owner.organization.blocked = True
    owner.organization.save()
    client = signed_in(owner.user)
    cdn_path = "/cdn/" + big_photo.cdn_url.split("/cdn/", 1)[1] + "@thumbnail"
    assert client.get(cdn_path).status_code == 402  # public delivery is refused
    url = f"/dashboard/{owner.environment.id}/images/{big_photo.id}/preview/?preset=thumbnail"
    response = client.get(url)
    assert response.status_code == 200
    assert PILImage.open(io.BytesIO(_bytes(response))).size == (150, 150)
    again = client.get(url, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


@pytest.mark.django_db(transaction=True)
def test_previews_are_for_members_only(owner, outsider, big_photo):
    url = f"/dashboard/{owner.environment.id}/images/{big_photo.id}/preview/?preset=small"
    assert signed_in(outsider.user).get(url).status_code == 404
    assert Client().get(url).status_code == 302  # anonymous: to sign in
    other = f"/dashboard/{outsider.environment.id}/images/{big_photo.id}/preview/"
    assert signed_in(outsider.user).get(other).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_bad_preview_query_is_a_400_naming_the_parameter(owner, big_photo):
    url = f"/dashboard/{owner.environment.id}/images/{big_photo.id}/preview/"
    response = signed_in(owner.user).get(url, {"width": "huge"})
    assert response.status_code == 400
    assert response.json()["error_type"] == "InvalidTransformationError"
    assert "width" in response.json()["detail"]
    unknown = signed_in(owner.user).get(url, {"preset": "giant"})
    assert unknown.status_code == 400


@pytest.mark.django_db(transaction=True)
def test_the_url_builder_previews_through_the_dashboard(owner, big_photo):
    client = signed_in(owner.user)
    page = client.get(f"/dashboard/{owner.environment.id}/images/{big_photo.id}/", {"width": "300"})
    assert page.context["preview_url"] == f"{big_photo.cdn_url}?width=300"
    own = page.context["builder_preview_url"]
    assert own.endswith("/preview/?width=300")
    assert PILImage.open(io.BytesIO(_bytes(client.get(own)))).size == (300, 200)
