from django.db import IntegrityError, transaction

from environments.models import BillingPlan, Environment, Membership, Organization, Role

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


def environment_create(*, organization: Organization, name: str, is_default: bool = False):
    return Environment.objects.create(organization=organization, name=name, is_default=is_default)


def membership_create(*, organization: Organization, user, role: str) -> Membership:
    membership, created = Membership.objects.get_or_create(
        organization=organization, user=user, defaults={"role": role}
    )
    if not created and membership.role != role:
        membership.role = role
        membership.save(update_fields=["role", "updated_at"])
    return membership
