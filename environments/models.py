import functools
import operator
import uuid

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Lower


class Role(models.TextChoices):
    OWNER = "OWNER"
    ADMIN = "ADMIN"
    DEVELOPER = "DEVELOPER"


MANAGING_ROLES = frozenset({Role.OWNER, Role.ADMIN})


class SubscriptionStatus(models.TextChoices):
    INACTIVE = "INACTIVE"
    TRIALING = "TRIALING"
    ACTIVE = "ACTIVE"
    PAST_DUE = "PAST_DUE"
    CANCELED = "CANCELED"


class EnforcementMode(models.TextChoices):
    SERVE_ALL = "SERVE_ALL"
    SERVE_CACHED_ONLY = "SERVE_CACHED_ONLY"
    BLOCK_ALL = "BLOCK_ALL"


NOT_NEGATIVE = [MinValueValidator(0)]
PLAN_LIMITS = (
    "storage_bytes_limit",
    "transfer_bytes_limit",
    "upload_limit",
    "transformations_limit",
    "maximum_pending_uploads",
    "team_member_limit",
)


class BillingPlan(models.Model):
    """Limits an organization works within. A null limit means unlimited."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    priority = models.IntegerField(default=0)
    is_default = models.BooleanField(
        default=False, help_text="New organizations are put on the default plan."
    )
    # Null is unlimited and 0 allows none; a negative limit means nothing, so it is refused
    # in the admin's form (the validators) and by the database (the constraint below).
    storage_bytes_limit = models.BigIntegerField(null=True, blank=True, validators=NOT_NEGATIVE)
    transfer_bytes_limit = models.BigIntegerField(null=True, blank=True, validators=NOT_NEGATIVE)
    upload_limit = models.BigIntegerField(null=True, blank=True, validators=NOT_NEGATIVE)
    transformations_limit = models.BigIntegerField(null=True, blank=True, validators=NOT_NEGATIVE)
    maximum_pending_uploads = models.IntegerField(null=True, blank=True, validators=NOT_NEGATIVE)
    custom_domain_enabled = models.BooleanField(default=True)
    teams_enabled = models.BooleanField(default=True)
    team_member_limit = models.IntegerField(null=True, blank=True, validators=NOT_NEGATIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="one_default_billing_plan",
            ),
            models.CheckConstraint(
                condition=functools.reduce(
                    operator.and_,
                    (
                        models.Q(**{f"{name}__isnull": True}) | models.Q(**{f"{name}__gte": 0})
                        for name in PLAN_LIMITS
                    ),
                ),
                name="billing_plan_limits_not_negative",
                violation_error_message="A plan's limits are 0 or more (empty: unlimited).",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class OrganizationQuerySet(models.QuerySet):
    def for_user(self, user):
        return self.filter(memberships__user=user)


class Organization(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    billing_plan = models.ForeignKey(
        BillingPlan, null=True, blank=True, on_delete=models.PROTECT, related_name="organizations"
    )
    subscription_status = models.CharField(
        max_length=16, choices=SubscriptionStatus.choices, default=SubscriptionStatus.ACTIVE
    )
    blocked = models.BooleanField(default=False)
    transformations_enforcement_mode = models.CharField(
        max_length=20, choices=EnforcementMode.choices, default=EnforcementMode.SERVE_ALL
    )
    transfer_bytes_enforcement_mode = models.CharField(
        max_length=20, choices=EnforcementMode.choices, default=EnforcementMode.SERVE_ALL
    )
    current_quota_period_start_at = models.DateTimeField(null=True, blank=True)
    current_quota_period_end_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrganizationQuerySet.as_manager()

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.DEVELOPER)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="one_membership_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"


class EnvironmentQuerySet(models.QuerySet):
    def for_organization(self, organization):
        return self.filter(organization=organization)

    def visible_to(self, user):
        return self.filter(organization__memberships__user=user)


NAME_TAKEN = (
    "An environment with this name already exists in the organization "
    "(names are compared without regard to case)."
)


class Environment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="environments"
    )
    name = models.CharField(max_length=100)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EnvironmentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=models.Q(is_default=True),
                name="one_default_environment_per_organization",
            ),
            # Case-insensitive, as environment_create_checked compares: "production" next
            # to "Production" reads as the same environment. In the database so that two
            # requests at once (SQLite has no row locks) cannot both pass the check.
            models.UniqueConstraint(
                Lower("name"),
                "organization",
                name="environment_names_unique_per_organization_ci",
                violation_error_message=NAME_TAKEN,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization.name} / {self.name}"


class InvitationQuerySet(models.QuerySet):
    def pending(self):
        from django.utils import timezone

        return self.filter(accepted_at__isnull=True, expires_at__gt=timezone.now())


class Invitation(models.Model):
    """An offer to join an organization with a role. Only a keyed hash of the token is
    stored; the token itself travels once, in the email."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.DEVELOPER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "id"]

    def __str__(self) -> str:
        return f"{self.email} to {self.organization} ({self.role})"


class SignInFailure(models.Model):
    """Failed sign-ins per (username, client address) within a window: the brute-force
    lockout lives in the database so every process and worker sees the same count."""

    id = models.BigAutoField(primary_key=True)
    username = models.CharField(max_length=150)
    ip_address = models.CharField(max_length=45)
    failures = models.IntegerField(default=0)
    window_started_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["username", "ip_address"], name="one_sign_in_counter_per_user_and_address"
            )
        ]

    def __str__(self) -> str:
        return f"{self.username} from {self.ip_address}: {self.failures}"


class UploadQuotaCounter(models.Model):
    """Uploads an organization created in one quota period, kept so the plan's upload
    limit holds under concurrency: a creation reserves its slot with one conditional
    ``UPDATE … SET used = used + 1 WHERE used < limit`` (environments/upload_quota.py), which
    PostgreSQL re-checks against the committed row, so N racing requests for the last slot
    give exactly one success. Created on first use from the count of the period's images."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="upload_quota_counters"
    )
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    used = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "period_start", "period_end"],
                name="one_upload_counter_per_period",
            )
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.period_start:%Y-%m-%d}: {self.used}"
