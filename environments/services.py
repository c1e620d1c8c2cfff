from django.db import IntegrityError, transaction
from django.utils import timezone

from environments.models import (
    MANAGING_ROLES,
    BillingPlan,
    Environment,
    Membership,
    Organization,
    Role,
)
from environments.quotas import add_one_month
from imgwire_site import domain
from imgwire_site.domain import Refusal
from keys.signing import signing_secret_create

UNLIMITED_PLAN_NAME = "Unlimited"


def billing_plan_get_or_create_default() -> BillingPlan:
    """The plan new organizations join; a fresh install gets an unlimited one."""
    plan = BillingPlan.objects.filter(is_default=True).first()
    if plan is not None:
        return plan
    try:
        with transaction.atomic():
            plan, _ = BillingPlan.objects.get_or_create(
                name=UNLIMITED_PLAN_NAME,
                defaults={
                    "description": "No limits: the default plan of a self-hosted install.",
                    "is_default": True,
                },
            )
    except IntegrityError:
        # Another process created the default plan between our read and our insert.
        plan = BillingPlan.objects.get(is_default=True)
    return plan


@transaction.atomic
def organization_create(*, name: str, owner=None, environment_name: str = "Production"):
    organization = Organization.objects.create(
        name=name, billing_plan=billing_plan_get_or_create_default()
    )
    environment_create(organization=organization, name=environment_name, is_default=True)
    if owner is not None:
        membership_create(organization=organization, user=owner, role=Role.OWNER)
    return organization


@transaction.atomic
def environment_create(*, organization: Organization, name: str, is_default: bool = False):
    environment = Environment.objects.create(
        organization=organization, name=name, is_default=is_default
    )
    signing_secret_create(environment=environment)
    return environment


def membership_create(*, organization: Organization, user, role: str) -> Membership:
    membership, created = Membership.objects.get_or_create(
        organization=organization, user=user, defaults={"role": role}
    )
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role", "updated_at"])
    return membership


# --- billing state (operators act through the admin, which calls these) ------------------

# What an operator may change on an organization (its name and its billing state).
ORGANIZATION_EDITABLE_FIELDS = frozenset(
    {
        "name",
        "billing_plan",
        "subscription_status",
        "blocked",
        "transformations_enforcement_mode",
        "transfer_bytes_enforcement_mode",
        "current_quota_period_start_at",
        "current_quota_period_end_at",
    }
)


def organization_update(*, organization: Organization, **fields) -> Organization:
    """Save the given fields (plan, status, modes, quota period…) and nothing else."""
    unknown = set(fields) - ORGANIZATION_EDITABLE_FIELDS
    if unknown:
        raise ValueError(f"organization_update cannot change {', '.join(sorted(unknown))}")
    start = fields.get("current_quota_period_start_at", organization.current_quota_period_start_at)
    end = fields.get("current_quota_period_end_at", organization.current_quota_period_end_at)
    if (start is None) != (end is None) or (start is not None and end <= start):
        raise ValueError("A quota period needs both a start and an end, the end after the start.")
    if not fields:
        return organization
    for name, value in fields.items():
        setattr(organization, name, value)
    organization.save(update_fields=[*fields, "updated_at"])
    return organization


def organization_block(*, organization: Organization) -> Organization:
    """Every upload and delivery of the organization answers 402 until it is unblocked."""
    return organization_update(organization=organization, blocked=True)


def organization_unblock(*, organization: Organization) -> Organization:
    return organization_update(organization=organization, blocked=False)


def organization_quota_period_reset(*, organization: Organization, now=None) -> Organization:
    """Start a new quota period now, lasting one calendar month: usage counts from zero."""
    start = now or timezone.now()
    return organization_update(
        organization=organization,
        current_quota_period_start_at=start,
        current_quota_period_end_at=add_one_month(start),
    )


@transaction.atomic
def organization_rename(*, organization: Organization, name: str, actor: Membership):
    """Rename as an OWNER or ADMIN of the organization. The actor's role is re-read: one
    lost since the page loaded no longer counts."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise Refusal(
            domain.INVALID_VALUE,
            "Give the organization a name of 1 to 200 characters.",
            field="name",
        )
    acting = Membership.objects.filter(pk=actor.pk, organization_id=organization.pk).first()
    if acting is None or acting.role not in MANAGING_ROLES:
        raise Refusal(domain.FORBIDDEN, "Only owners and admins may rename the organization.")
    return organization_update(organization=organization, name=name)
