"""Operators manage plans, assignments, blocking and quota periods in the Django admin."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from environments.models import (
    PLAN_LIMITS,
    BillingPlan,
    EnforcementMode,
    Organization,
    SubscriptionStatus,
)
from environments.quotas import add_one_month
from environments.services import organization_create
from tests.environments.test_quotas import stored_image

pytestmark = pytest.mark.django_db

ORGANIZATIONS = "/admin/environments/organization/"
PLANS = "/admin/environments/billingplan/"


@pytest.fixture
def operator() -> Client:
    user = get_user_model().objects.create_superuser(
        username="operator", email="operator@example.com", password="pw-operator"
    )
    client = Client()
    client.force_login(user)
    return client


def queries_of(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context.captured_queries)


def plans(count: int) -> None:
    for index in range(count):
        plan = BillingPlan.objects.create(name=f"Plan {BillingPlan.objects.count()}-{index}")
        organization = organization_create(name=f"Org of {plan.name}")
        organization.billing_plan = plan
        organization.save(update_fields=["billing_plan"])


def act(client: Client, action: str, *organizations):
    return client.post(
        ORGANIZATIONS,
        {"action": action, "_selected_action": [str(o.id) for o in organizations]},
    )


def change_form(organization: Organization, **overrides) -> dict:
    data = {
        "name": organization.name,
        "billing_plan": str(organization.billing_plan_id or ""),
        "subscription_status": organization.subscription_status,
        "transformations_enforcement_mode": organization.transformations_enforcement_mode,
        "transfer_bytes_enforcement_mode": organization.transfer_bytes_enforcement_mode,
        "current_quota_period_start_at_0": "",
        "current_quota_period_start_at_1": "",
        "current_quota_period_end_at_0": "",
        "current_quota_period_end_at_1": "",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    if organization.blocked:
        data["blocked"] = "on"
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


# --- list pages ---------------------------------------------------------------------------


def test_the_organization_changelist_costs_a_fixed_number_of_queries(
    operator, django_assert_num_queries
):
    plans(2)
    few = queries_of(operator, ORGANIZATIONS)
    plans(10)
    assert queries_of(operator, ORGANIZATIONS) == few
    # session, user, count, filtered count, page, the plan filter's choices
    with django_assert_num_queries(6):
        response = operator.get(ORGANIZATIONS)
    assert b"Org of Plan" in response.content


def test_the_plan_changelist_costs_a_fixed_number_of_queries(operator, django_assert_num_queries):
    plans(2)
    few = queries_of(operator, PLANS)
    plans(10)
    assert queries_of(operator, PLANS) == few
    with django_assert_num_queries(5):  # session, user, count, filtered count, page
        response = operator.get(PLANS)
    assert b"Plan 0-0" in response.content


def test_a_plan_lists_its_limits_and_how_many_organizations_use_it(operator):
    plan = BillingPlan.objects.create(name="Starter", upload_limit=1000, storage_bytes_limit=10)
    for name in ("a", "b"):
        Organization.objects.create(name=name, billing_plan=plan)
    content = operator.get(PLANS).content.decode()
    assert "Starter" in content and "1000" in content
    assert '<td class="field-organizations_count">2</td>' in content


# --- plans --------------------------------------------------------------------------------


PLAN_FORM = {
    "name": "Starter",
    "description": "",
    "priority": "1",
    "upload_limit": "",
    "storage_bytes_limit": "",
    "maximum_pending_uploads": "",
    "transformations_limit": "",
    "transfer_bytes_limit": "",
    "team_member_limit": "",
    "teams_enabled": "on",
}


@pytest.mark.parametrize("field", PLAN_LIMITS)
def test_a_plan_limit_cannot_be_negative_in_the_admin_or_the_database(operator, field):
    response = operator.post(f"{PLANS}add/", {**PLAN_FORM, field: "-1"})
    assert response.status_code == 200  # the form again, with the field's error
    assert "Ensure this value is greater than or equal to 0." in response.content.decode()
    assert not BillingPlan.objects.filter(name="Starter").exists()
    assert operator.post(f"{PLANS}add/", {**PLAN_FORM, field: "0"}).status_code == 302
    with pytest.raises(IntegrityError), transaction.atomic():
        BillingPlan.objects.filter(name="Starter").update(**{field: -5})


def test_an_operator_creates_a_plan_with_empty_limits_meaning_unlimited(operator):
    response = operator.post(
        f"{PLANS}add/",
        {
            "name": "Starter",
            "description": "",
            "priority": "1",
            "upload_limit": "1000",
            "storage_bytes_limit": "",
            "maximum_pending_uploads": "",
            "transformations_limit": "5000",
            "transfer_bytes_limit": "",
            "team_member_limit": "3",
            "custom_domain_enabled": "",
            "teams_enabled": "on",
        },
    )
    assert response.status_code == 302, response.content
    plan = BillingPlan.objects.get(name="Starter")
    assert (plan.upload_limit, plan.transformations_limit, plan.team_member_limit) == (
        1000,
        5000,
        3,
    )
    assert plan.storage_bytes_limit is None and plan.transfer_bytes_limit is None
    assert plan.custom_domain_enabled is False and plan.teams_enabled is True


# --- organizations ------------------------------------------------------------------------


def test_block_and_unblock_actions_go_through_the_services(operator, owner, outsider):
    response = act(operator, "block", owner.organization)
    assert response.status_code == 302
    owner.organization.refresh_from_db()
    outsider.organization.refresh_from_db()
    assert owner.organization.blocked is True
    assert outsider.organization.blocked is False
    assert act(operator, "unblock", owner.organization).status_code == 302
    owner.organization.refresh_from_db()
    assert owner.organization.blocked is False


def test_the_new_quota_period_action_starts_a_month_from_now(operator, owner):
    before = timezone.now()
    assert act(operator, "start_new_quota_period", owner.organization).status_code == 302
    owner.organization.refresh_from_db()
    start = owner.organization.current_quota_period_start_at
    assert before <= start <= timezone.now()
    assert owner.organization.current_quota_period_end_at == add_one_month(start)


def test_an_operator_assigns_a_plan_status_modes_and_period(operator, owner):
    plan = BillingPlan.objects.create(name="Starter", upload_limit=10)
    response = operator.post(
        f"{ORGANIZATIONS}{owner.organization.id}/change/",
        change_form(
            owner.organization,
            billing_plan=str(plan.id),
            subscription_status=SubscriptionStatus.PAST_DUE,
            transformations_enforcement_mode=EnforcementMode.SERVE_CACHED_ONLY,
            transfer_bytes_enforcement_mode=EnforcementMode.BLOCK_ALL,
            current_quota_period_start_at_0="2026-11-15",
            current_quota_period_start_at_1="10:00:00",
            current_quota_period_end_at_0="2026-12-15",
            current_quota_period_end_at_1="10:00:00",
            blocked="on",
        ),
    )
    assert response.status_code == 302, response.content
    owner.organization.refresh_from_db()
    organization = owner.organization
    assert organization.billing_plan == plan
    assert organization.subscription_status == SubscriptionStatus.PAST_DUE
    assert organization.transformations_enforcement_mode == EnforcementMode.SERVE_CACHED_ONLY
    assert organization.transfer_bytes_enforcement_mode == EnforcementMode.BLOCK_ALL
    assert organization.blocked is True
    assert organization.current_quota_period_start_at == datetime(2026, 11, 15, 10, tzinfo=UTC)
    assert organization.current_quota_period_end_at == datetime(2026, 12, 15, 10, tzinfo=UTC)


def test_a_half_set_or_backwards_quota_period_is_refused_on_the_form(operator, owner):
    url = f"{ORGANIZATIONS}{owner.organization.id}/change/"
    half = operator.post(
        url,
        change_form(
            owner.organization,
            current_quota_period_start_at_0="2026-11-15",
            current_quota_period_start_at_1="10:00:00",
        ),
    )
    assert half.status_code == 200
    assert "Set both the start and the end of the quota period" in half.content.decode()
    backwards = operator.post(
        url,
        change_form(
            owner.organization,
            current_quota_period_start_at_0="2026-12-15",
            current_quota_period_start_at_1="10:00:00",
            current_quota_period_end_at_0="2026-11-15",
            current_quota_period_end_at_1="10:00:00",
        ),
    )
    assert "The end must be after the start." in backwards.content.decode()
    owner.organization.refresh_from_db()
    assert owner.organization.current_quota_period_start_at is None


def test_the_change_page_shows_usage_against_the_plan(operator, owner):
    plan = BillingPlan.objects.create(name="Starter", upload_limit=10, storage_bytes_limit=500)
    Organization.objects.filter(id=owner.organization.id).update(billing_plan=plan)
    stored_image(owner.environment, size_bytes=120)
    stored_image(owner.environment, size_bytes=80, created_at=timezone.now() - timedelta(days=62))
    content = operator.get(f"{ORGANIZATIONS}{owner.organization.id}/change/").content.decode()
    assert "uploads: 1 of 10" in content
    assert "storage bytes: 200 of 500" in content
    assert "transformations: 0 (unlimited)" in content


def test_organizations_are_not_added_in_the_admin(operator):
    assert operator.get(f"{ORGANIZATIONS}add/").status_code == 403


def test_members_of_the_staff_without_permissions_and_visitors_see_nothing(owner):
    staff = get_user_model().objects.create_user(
        username="staff", password="pw-staff-staff", is_staff=True
    )
    client = Client()
    client.force_login(staff)
    assert client.get(ORGANIZATIONS).status_code == 403
    assert act(client, "block", owner.organization).status_code == 403
    visitor = Client().get(ORGANIZATIONS)
    assert visitor.status_code == 302 and "/admin/login/" in visitor["Location"]
    owner.organization.refresh_from_db()
    assert owner.organization.blocked is False
