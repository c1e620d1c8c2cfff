"""Plan limits and subscription standing at upload creation, downloads, domains and teams.

Delivery under the enforcement modes: test_quotas_delivery.py. The helpers here (plans,
periods, image rows) are shared with it.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from environments.models import BillingPlan, Organization, SubscriptionStatus
from environments.quotas import (
    calendar_month,
    check_custom_domain_allowed,
    check_member_limit,
    check_organization_in_good_standing,
    forget_cached_usage,
    quota_period_of,
)
from environments.services import (
    environment_create,
    membership_create,
    organization_block,
    organization_quota_period_reset,
    organization_unblock,
    organization_update,
)
from images.models import Image, ImageStatus
from imgwire_site.api.errors import PaymentRequiredError
from tests.uploads import create_upload

pytestmark = pytest.mark.django_db

# A fixed period end makes the sentences deterministic.
PERIOD_END = datetime(2099, 1, 1, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_usage_answers():
    forget_cached_usage()
    yield
    forget_cached_usage()


def on_plan(organization, *, period_start=None, **limits) -> BillingPlan:
    """Put the organization on a "Starter" plan with ``limits``, in a period ending 2099."""
    plan = BillingPlan.objects.create(name="Starter", **limits)
    organization_update(
        organization=organization,
        billing_plan=plan,
        current_quota_period_start_at=period_start or timezone.now() - timedelta(days=2),
        current_quota_period_end_at=PERIOD_END,
    )
    return plan


def stored_image(environment, *, status=ImageStatus.READY, size_bytes=100, **fields) -> Image:
    """An image row without bytes: counting usage needs only the record."""
    created_at = fields.pop("created_at", None)
    image = Image.objects.create(
        environment=environment,
        original_filename="photo.jpg",
        extension="jpg",
        mime_type="image/jpeg",
        status=status,
        size_bytes=size_bytes,
        bytes_received_at=None if status == ImageStatus.PENDING else timezone.now(),
        **fields,
    )
    if created_at is not None:  # auto_now_add ignores a value given to create()
        Image.objects.filter(id=image.id).update(created_at=created_at)
    return image


def refused(response, sentence: str) -> None:
    assert response.status_code == 402, response.content
    assert response.json() == {"detail": sentence, "error_type": "PaymentRequiredError"}


BLOCKED = (
    "This organization is blocked, so its images can be neither uploaded nor delivered; "
    "ask the operator of this Imgwire install to unblock it."
)


# --- the unlimited default ----------------------------------------------------------------


def test_a_new_organization_is_on_the_unlimited_plan_and_is_never_refused(owner):
    plan = owner.organization.billing_plan
    assert plan.name == "Unlimited" and plan.is_default
    for _ in range(5):
        assert create_upload(owner.server, content_length=90 * 2**20).status_code == 200
    check_custom_domain_allowed(owner.organization)
    check_member_limit(owner.organization)


def test_the_upload_check_of_an_unlimited_plan_costs_only_the_plan_lookup(
    owner, django_assert_num_queries
):
    from environments.quotas import check_upload_allowed

    environment = type(owner.environment).objects.select_related("organization").get()
    with django_assert_num_queries(1):
        check_upload_allowed(environment, incoming_bytes=10**12)


# --- uploads per period ---------------------------------------------------------------------


def test_upload_creation_beyond_the_upload_quota_answers_402_naming_limit_usage_and_plan(owner):
    on_plan(owner.organization, upload_limit=2)
    assert create_upload(owner.server).status_code == 200
    assert create_upload(owner.server).status_code == 200
    refused(
        create_upload(owner.server),
        "This organization has used 2 of the 2 uploads of the Starter plan for the period "
        "ending 2099-01-01; upgrade the plan or wait for the next period.",
    )
    assert Image.objects.count() == 2


def test_uploads_count_across_environments_and_deleted_images_still_count(owner):
    on_plan(owner.organization, upload_limit=2)
    staging = environment_create(organization=owner.organization, name="Staging")
    stored_image(staging)
    stored_image(owner.environment, deleted_at=timezone.now())
    assert create_upload(owner.server).status_code == 402


def test_uploads_of_an_earlier_period_and_of_other_organizations_do_not_count(owner, outsider):
    on_plan(owner.organization, upload_limit=1)
    stored_image(owner.environment, created_at=timezone.now() - timedelta(days=3))
    stored_image(outsider.environment)
    assert create_upload(owner.server).status_code == 200


def test_starting_a_new_quota_period_lifts_the_upload_quota(owner):
    on_plan(owner.organization, upload_limit=1)
    stored_image(owner.environment)
    assert create_upload(owner.server).status_code == 402
    organization_quota_period_reset(organization=owner.organization)
    assert create_upload(owner.server).status_code == 200


def test_an_idempotent_retry_at_the_limit_returns_the_image_it_created(owner):
    on_plan(owner.organization, upload_limit=1)
    first = create_upload(owner.server, idempotency_key="hero-1")
    again = create_upload(owner.server, idempotency_key="hero-1")
    assert again.status_code == 200
    assert again.json()["image"]["id"] == first.json()["image"]["id"]
    assert create_upload(owner.server, idempotency_key="hero-2").status_code == 402


# --- storage and pending uploads ----------------------------------------------------------


def test_upload_creation_with_storage_full_answers_402(owner):
    on_plan(owner.organization, storage_bytes_limit=3 * 2**20)
    stored_image(owner.environment, size_bytes=2 * 2**20)
    stored_image(owner.environment, size_bytes=2**20)
    refused(
        create_upload(owner.server),
        "This organization stores 3145728 bytes (3.0 MiB) of the 3145728 bytes (3.0 MiB) of "
        "storage of the Starter plan; delete images or upgrade the plan.",
    )


def test_storage_counts_ready_originals_that_are_not_deleted(owner):
    on_plan(owner.organization, storage_bytes_limit=1000)
    stored_image(owner.environment, size_bytes=5000, deleted_at=timezone.now())
    stored_image(owner.environment, status=ImageStatus.PROCESSING, size_bytes=5000)
    stored_image(owner.environment, status=ImageStatus.PENDING, size_bytes=5000)
    stored_image(owner.environment, size_bytes=999)
    assert create_upload(owner.server).status_code == 200


def test_a_declared_content_length_that_would_overflow_storage_answers_402(owner):
    on_plan(owner.organization, storage_bytes_limit=1000)
    stored_image(owner.environment, size_bytes=900)
    assert create_upload(owner.server, content_length=100).status_code == 200
    refused(
        create_upload(owner.server, content_length=101),
        "This upload of 101 bytes would bring this organization's storage to 1001 bytes, "
        "over the 1000 bytes of the Starter plan; delete images or upgrade the plan.",
    )


def test_pending_uploads_beyond_the_plan_answer_402(owner):
    on_plan(owner.organization, maximum_pending_uploads=2)
    staging = environment_create(organization=owner.organization, name="Staging")
    stored_image(staging, status=ImageStatus.PENDING)
    stored_image(owner.environment, status=ImageStatus.PENDING, deleted_at=timezone.now())
    assert create_upload(owner.server).status_code == 200
    refused(
        create_upload(owner.server),
        "This organization has 2 of the 2 pending uploads of the Starter plan (uploads still "
        "waiting for their bytes); finish or abandon some, or upgrade the plan, then retry.",
    )


def test_several_limits_are_read_in_one_query(owner, django_assert_num_queries):
    from environments.quotas import check_upload_allowed

    on_plan(
        owner.organization, upload_limit=5, storage_bytes_limit=10**6, maximum_pending_uploads=5
    )
    environment = type(owner.environment).objects.select_related("organization").get()
    with django_assert_num_queries(2):  # the plan, then one aggregate over the images
        check_upload_allowed(environment)


# --- blocked and inactive organizations ---------------------------------------------------


def test_a_blocked_organization_cannot_create_uploads_or_downloads(owner):
    organization_block(organization=owner.organization)
    refused(create_upload(owner.server), BLOCKED)
    refused(
        owner.server.post(
            "/api/v1/images/upload_via_url",
            {"url": "https://images.example.com/a.jpg"},  # refused before any fetch
            format="json",
        ),
        BLOCKED,
    )
    image = stored_image(owner.environment)
    refused(
        owner.server.post(
            "/api/v1/images/downloads", {"image_ids": [str(image.id)]}, format="json"
        ),
        BLOCKED,
    )
    organization_unblock(organization=owner.organization)
    assert create_upload(owner.server).status_code == 200


@pytest.mark.parametrize("status", [SubscriptionStatus.INACTIVE, SubscriptionStatus.CANCELED])
def test_an_inactive_subscription_answers_402(owner, status):
    organization_update(organization=owner.organization, subscription_status=status)
    refused(
        create_upload(owner.server),
        f"This organization's subscription is {status}; activate a subscription (or ask the "
        "operator of this install) to continue.",
    )


@pytest.mark.parametrize(
    "status",
    [SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIALING, SubscriptionStatus.PAST_DUE],
)
def test_active_trialing_and_past_due_subscriptions_keep_working(owner, status):
    organization_update(organization=owner.organization, subscription_status=status)
    check_organization_in_good_standing(owner.organization)
    assert create_upload(owner.server).status_code == 200


def test_an_outsiders_block_does_not_touch_us(owner, outsider):
    organization_block(organization=outsider.organization)
    assert create_upload(owner.server).status_code == 200
    assert create_upload(outsider.server).status_code == 402


# --- custom domains and team members ------------------------------------------------------


def test_custom_domains_need_a_plan_that_includes_them(owner):
    on_plan(owner.organization, custom_domain_enabled=False)
    with pytest.raises(PaymentRequiredError) as refusal:
        check_custom_domain_allowed(owner.organization)
    assert str(refusal.value.detail) == (
        "The Starter plan does not include custom domains; upgrade the plan to add one."
    )
    BillingPlan.objects.filter(name="Starter").update(custom_domain_enabled=True)
    owner.organization.refresh_from_db()
    check_custom_domain_allowed(owner.organization)


def test_a_blocked_organization_cannot_add_custom_domains_or_members(owner):
    organization_block(organization=owner.organization)
    for check in (check_custom_domain_allowed, check_member_limit):
        with pytest.raises(PaymentRequiredError, match="blocked"):
            check(owner.organization)


def test_the_member_limit_counts_current_members(owner, developer):
    on_plan(owner.organization, team_member_limit=2)
    with pytest.raises(PaymentRequiredError) as refusal:
        check_member_limit(owner.organization)
    assert str(refusal.value.detail) == (
        "This organization has 2 of the 2 team members of the Starter plan; remove a member "
        "or upgrade the plan to invite another."
    )
    BillingPlan.objects.filter(name="Starter").update(team_member_limit=3)
    owner.organization.refresh_from_db()
    check_member_limit(owner.organization)


def test_a_plan_without_teams_keeps_the_organization_to_one_member(owner):
    on_plan(owner.organization, teams_enabled=False)
    with pytest.raises(PaymentRequiredError) as refusal:
        check_member_limit(owner.organization)
    assert str(refusal.value.detail) == (
        "The Starter plan does not include teams; upgrade the plan to invite members."
    )
    lonely = Organization.objects.create(
        name="lonely", billing_plan=owner.organization.billing_plan
    )
    check_member_limit(lonely)
    user = get_user_model().objects.create_user(username="solo", password="pw-solo-solo")
    membership_create(organization=lonely, user=user, role="OWNER")
    with pytest.raises(PaymentRequiredError):
        check_member_limit(lonely)


# --- quota periods ------------------------------------------------------------------------


def test_without_a_stored_period_the_calendar_month_in_utc_applies(owner):
    now = datetime(2026, 11, 21, 23, 30, tzinfo=UTC)
    period = quota_period_of(owner.organization, now)
    assert (period.start, period.end) == (
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    )
    assert period.end_label == "2026-12-01"
    assert calendar_month(datetime(2026, 12, 31, 23, 59, tzinfo=UTC)).end == datetime(
        2027, 1, 1, tzinfo=UTC
    )


def test_a_stored_period_applies_while_it_lasts_then_the_calendar_month(owner):
    start = datetime(2026, 11, 15, 10, 0, tzinfo=UTC)
    end = datetime(2026, 12, 15, 10, 0, tzinfo=UTC)
    organization_update(
        organization=owner.organization,
        current_quota_period_start_at=start,
        current_quota_period_end_at=end,
    )
    inside = quota_period_of(owner.organization, datetime(2026, 12, 1, tzinfo=UTC))
    assert (inside.start, inside.end, inside.end_label) == (start, end, "2026-12-15 10:00 UTC")
    after = quota_period_of(owner.organization, datetime(2026, 12, 20, tzinfo=UTC))
    assert after.start == datetime(2026, 12, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "end"),
    [
        (datetime(2026, 11, 21, 9, 5, tzinfo=UTC), datetime(2026, 12, 21, 9, 5, tzinfo=UTC)),
        (datetime(2027, 1, 31, tzinfo=UTC), datetime(2027, 2, 28, tzinfo=UTC)),
        (datetime(2028, 1, 31, tzinfo=UTC), datetime(2028, 2, 29, tzinfo=UTC)),
        (datetime(2026, 12, 15, tzinfo=UTC), datetime(2027, 1, 15, tzinfo=UTC)),
    ],
)
def test_a_new_quota_period_starts_now_and_lasts_one_calendar_month(owner, now, end):
    organization_quota_period_reset(organization=owner.organization, now=now)
    owner.organization.refresh_from_db()
    assert owner.organization.current_quota_period_start_at == now
    assert owner.organization.current_quota_period_end_at == end


@pytest.mark.parametrize(
    "fields",
    [
        {"current_quota_period_start_at": datetime(2026, 1, 1, tzinfo=UTC)},
        {
            "current_quota_period_start_at": datetime(2026, 2, 1, tzinfo=UTC),
            "current_quota_period_end_at": datetime(2026, 1, 1, tzinfo=UTC),
        },
        {"workos_organization_id": "x"},
    ],
)
def test_organization_update_refuses_half_periods_and_unknown_fields(owner, fields):
    with pytest.raises(ValueError):
        organization_update(organization=owner.organization, **fields)
