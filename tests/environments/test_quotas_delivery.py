"""Delivery over the transformation or transfer quota follows the enforcement mode."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from environments.models import EnforcementMode
from environments.quotas import check_delivery_allowed
from environments.services import (
    organization_block,
    organization_quota_period_reset,
    organization_update,
)
from images.delivery.service import find_image
from imgwire_site.api.errors import PaymentRequiredError
from metrics.models import DeliveryUsageHour
from tests import imagegen
from tests.environments.test_quotas import BLOCKED, fresh_usage_answers, on_plan, stored_image
from tests.uploads import upload

__all__ = ["fresh_usage_answers"]  # the autouse fixture, shared with test_quotas.py

TRANSFORMATIONS_USED = (
    "This organization has used 10 of the 10 transformations of the Starter plan for the "
    "period ending 2099-01-01"
)
TRANSFER_USED = (
    "This organization has delivered 2097152 bytes (2.0 MiB) of the 2097152 bytes (2.0 MiB) "
    "of transfer of the Starter plan for the period ending 2099-01-01"
)
PAUSED = "; delivery is paused until the next period or a plan upgrade."
CACHED_ONLY = "; only images already rendered are served until the next period or a plan upgrade."


def used(environment, *, transformations=0, transfer_bytes=0, hours_ago=24):
    """Merged usage inside the test period (which began two days ago), away from the hour
    the usage flusher may be writing."""
    hour = (timezone.now() - timedelta(hours=hours_ago)).replace(minute=0, second=0, microsecond=0)
    DeliveryUsageHour.objects.create(
        environment=environment,
        hour=hour,
        transformations=transformations,
        transfer_bytes=transfer_bytes,
    )


def modes(organization, transformations=None, transfer=None):
    fields = {}
    if transformations:
        fields["transformations_enforcement_mode"] = transformations
    if transfer:
        fields["transfer_bytes_enforcement_mode"] = transfer
    organization_update(organization=organization, **fields)


def loaded(tenant):
    """The organization as the delivery view sees it (plan joined into the image lookup)."""
    image = stored_image(tenant.environment)
    found = find_image(tenant.organization.id, tenant.environment.id, image.id)
    return found.environment.organization


def never_asked():
    raise AssertionError("is_cached() should not have been needed")


# --- the decision, without rendering ------------------------------------------------------


@pytest.mark.django_db
def test_the_unlimited_plan_serves_everything_without_a_query(owner, django_assert_num_queries):
    modes(owner.organization, EnforcementMode.BLOCK_ALL, EnforcementMode.BLOCK_ALL)
    used(owner.environment, transformations=10**9, transfer_bytes=10**15)
    organization = loaded(owner)
    with django_assert_num_queries(0):
        check_delivery_allowed(organization, is_cached=never_asked)


@pytest.mark.django_db
def test_serve_all_over_quota_serves_everything_without_a_query(owner, django_assert_num_queries):
    on_plan(owner.organization, transformations_limit=10, transfer_bytes_limit=10)
    used(owner.environment, transformations=50, transfer_bytes=50)
    organization = loaded(owner)
    with django_assert_num_queries(0):
        check_delivery_allowed(organization, is_cached=never_asked)


@pytest.mark.django_db
def test_a_restricting_mode_reads_usage_once_per_flush_interval(owner, django_assert_num_queries):
    on_plan(owner.organization, transformations_limit=10)
    modes(owner.organization, transformations=EnforcementMode.BLOCK_ALL)
    used(owner.environment, transformations=9)
    organization = loaded(owner)
    with django_assert_num_queries(1):
        for _ in range(5):
            check_delivery_allowed(organization, is_cached=never_asked)


@pytest.mark.django_db
def test_serve_cached_only_asks_storage_only_when_over_quota(owner):
    on_plan(owner.organization, transformations_limit=10)
    modes(owner.organization, transformations=EnforcementMode.SERVE_CACHED_ONLY)
    used(owner.environment, transformations=10)
    organization = loaded(owner)
    check_delivery_allowed(organization, is_cached=lambda: True)
    with pytest.raises(PaymentRequiredError) as refusal:
        check_delivery_allowed(organization, is_cached=lambda: False)
    assert str(refusal.value.detail) == TRANSFORMATIONS_USED + CACHED_ONLY


@pytest.mark.django_db
def test_the_strictest_mode_of_the_exceeded_quotas_wins(owner):
    on_plan(owner.organization, transformations_limit=10, transfer_bytes_limit=2 * 2**20)
    modes(owner.organization, EnforcementMode.SERVE_CACHED_ONLY, EnforcementMode.BLOCK_ALL)
    used(owner.environment, transformations=10, transfer_bytes=2 * 2**20)
    with pytest.raises(PaymentRequiredError) as refusal:
        check_delivery_allowed(loaded(owner), is_cached=never_asked)
    assert str(refusal.value.detail) == TRANSFER_USED + PAUSED


@pytest.mark.django_db
def test_usage_before_the_period_and_of_other_organizations_does_not_count(owner, outsider):
    on_plan(owner.organization, transformations_limit=10)
    modes(owner.organization, transformations=EnforcementMode.BLOCK_ALL)
    used(owner.environment, transformations=100, hours_ago=24 * 3)  # the period began 2 days ago
    used(outsider.environment, transformations=100)
    check_delivery_allowed(loaded(owner), is_cached=never_asked)


@pytest.mark.django_db
def test_a_new_quota_period_serves_again_at_once(owner):
    on_plan(owner.organization, transformations_limit=10)
    modes(owner.organization, transformations=EnforcementMode.BLOCK_ALL)
    used(owner.environment, transformations=10, hours_ago=0)
    with pytest.raises(PaymentRequiredError):
        check_delivery_allowed(loaded(owner), is_cached=never_asked)
    # Mid-hour: the row of the current hour lies before the new period's first whole hour.
    organization_quota_period_reset(organization=owner.organization)
    check_delivery_allowed(loaded(owner), is_cached=never_asked)


# --- end to end through the CDN view ------------------------------------------------------


@pytest.fixture
def cdn_path(owner, stub_worker):
    image_id = upload(owner.server, imagegen.jpeg(width=200, height=150), "image/jpeg", "a.jpg")
    stub_worker()
    cdn_url = owner.server.get(f"/api/v1/images/{image_id}").json()["cdn_url"]
    return "/cdn/" + cdn_url.split("/cdn/", 1)[1]


def get(path):
    response = APIClient().get(path)
    if response.status_code == 200:
        b"".join(response.streaming_content)  # let the file close
    return response


def assert_refused(response, sentence):
    assert response.status_code == 402
    assert response.json() == {"detail": sentence, "error_type": "PaymentRequiredError"}
    assert response["Cache-Control"] == "no-store"  # a CDN must not keep the refusal


@pytest.mark.django_db(transaction=True)
def test_serve_cached_only_serves_rendered_variants_and_refuses_new_renders(owner, cdn_path):
    assert get(cdn_path + "?width=50").status_code == 200
    on_plan(owner.organization, transformations_limit=10)
    modes(owner.organization, transformations=EnforcementMode.SERVE_CACHED_ONLY)
    used(owner.environment, transformations=10)
    assert get(cdn_path + "?width=50").status_code == 200
    assert_refused(get(cdn_path + "?width=60"), TRANSFORMATIONS_USED + CACHED_ONLY)
    # The original is produced by a render (metadata stripping) on its first request too.
    assert_refused(get(cdn_path), TRANSFORMATIONS_USED + CACHED_ONLY)


@pytest.mark.django_db(transaction=True)
def test_block_all_refuses_even_cached_variants(owner, cdn_path):
    first = get(cdn_path + "?width=50")
    assert first.status_code == 200
    on_plan(owner.organization, transfer_bytes_limit=2 * 2**20)
    modes(owner.organization, transfer=EnforcementMode.BLOCK_ALL)
    used(owner.environment, transfer_bytes=2 * 2**20)
    assert_refused(get(cdn_path + "?width=50"), TRANSFER_USED + PAUSED)
    assert APIClient().head(cdn_path + "?width=50").status_code == 402
    conditional = APIClient().get(cdn_path + "?width=50", HTTP_IF_NONE_MATCH=first["ETag"])
    assert conditional.status_code == 402


@pytest.mark.django_db(transaction=True)
def test_serve_all_over_quota_still_renders(owner, cdn_path):
    on_plan(owner.organization, transformations_limit=10, transfer_bytes_limit=10)
    used(owner.environment, transformations=10, transfer_bytes=10)
    assert get(cdn_path + "?width=70").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_blocked_organization_delivers_nothing(owner, cdn_path):
    assert get(cdn_path).status_code == 200
    organization_block(organization=owner.organization)
    assert_refused(get(cdn_path), BLOCKED)
    assert_refused(get(cdn_path + "?width=40"), BLOCKED)


@pytest.mark.django_db(transaction=True)
def test_a_limited_plan_adds_no_query_to_delivery_under_serve_all(
    owner, cdn_path, django_assert_max_num_queries
):
    on_plan(owner.organization, transformations_limit=10**6, transfer_bytes_limit=10**12)
    get(cdn_path + "?width=64")
    with django_assert_max_num_queries(3):  # the image lookup, with its plan, per request
        for _ in range(3):
            assert get(cdn_path + "?width=64").status_code == 200
