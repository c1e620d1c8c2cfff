"""Operators' view of plans and organizations: limits, assignments, blocking, quota periods.

Changes go through environments.services; the changelists cost a fixed number of queries
(tests/environments/test_admin.py pins them).
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.utils.html import format_html_join

from environments.models import (
    BillingPlan,
    Environment,
    Invitation,
    Membership,
    Organization,
)
from environments.quotas import delivery_usage, quota_period_of, upload_usage
from environments.services import (
    ORGANIZATION_EDITABLE_FIELDS,
    organization_block,
    organization_quota_period_reset,
    organization_unblock,
    organization_update,
)

LIMIT_FIELDS = [
    "upload_limit",
    "storage_bytes_limit",
    "maximum_pending_uploads",
    "transformations_limit",
    "transfer_bytes_limit",
    "team_member_limit",
]


@admin.register(BillingPlan)
class BillingPlanAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "is_default",
        *LIMIT_FIELDS,
        "custom_domain_enabled",
        "teams_enabled",
        "organizations_count",
        "priority",
    ]
    search_fields = ["name"]
    fieldsets = [
        (None, {"fields": ["name", "description", "priority", "is_default"]}),
        (
            "Limits (empty means unlimited)",
            {
                "fields": LIMIT_FIELDS,
                "description": "Uploads, transformations and transfer are per quota period; "
                "storage and pending uploads are current totals; all per organization.",
            },
        ),
        ("Features", {"fields": ["custom_domain_enabled", "teams_enabled"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(organizations_total=Count("organizations"))

    @admin.display(description="organizations", ordering="organizations_total")
    def organizations_count(self, plan):
        return plan.organizations_total


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


class OrganizationAdminForm(forms.ModelForm):
    class Meta:
        model = Organization
        fields = sorted(ORGANIZATION_EDITABLE_FIELDS)

    def clean(self):
        cleaned = super().clean()
        start = cleaned.get("current_quota_period_start_at")
        end = cleaned.get("current_quota_period_end_at")
        if (start is None) != (end is None):
            raise forms.ValidationError(
                "Set both the start and the end of the quota period, or neither (then the "
                "calendar month in UTC applies)."
            )
        if start is not None and end <= start:
            self.add_error("current_quota_period_end_at", "The end must be after the start.")
        return cleaned


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    form = OrganizationAdminForm
    list_display = [
        "name",
        "billing_plan",
        "subscription_status",
        "blocked",
        "transformations_enforcement_mode",
        "transfer_bytes_enforcement_mode",
        "current_quota_period_end_at",
        "created_at",
    ]
    list_select_related = ["billing_plan"]
    list_filter = ["blocked", "subscription_status", "billing_plan"]
    search_fields = ["name", "id"]
    readonly_fields = ["id", "usage_this_period", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["id", "name", "created_at", "updated_at"]}),
        ("Plan and subscription", {"fields": ["billing_plan", "subscription_status", "blocked"]}),
        (
            "Delivery over the transformation or transfer quota",
            {"fields": ["transformations_enforcement_mode", "transfer_bytes_enforcement_mode"]},
        ),
        (
            "Quota period",
            {
                "fields": [
                    "current_quota_period_start_at",
                    "current_quota_period_end_at",
                    "usage_this_period",
                ],
                "description": "Leave both empty for the calendar month in UTC. A period "
                "that has ended falls back to the calendar month too.",
            },
        ),
    ]
    inlines = [MembershipInline]
    actions = ["block", "unblock", "start_new_quota_period"]

    def has_add_permission(self, request):
        # An organization needs its default environment: sign-up or `manage.py bootstrap`
        # create both (organization_create); a bare admin row would have none.
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("billing_plan")

    def save_model(self, request, obj, form, change):
        organization_update(
            organization=obj, **{name: form.cleaned_data[name] for name in form.changed_data}
        )

    @admin.display(description="usage this period")
    def usage_this_period(self, organization):
        plan = organization.billing_plan
        period = quota_period_of(organization)
        usage = {**upload_usage(organization, period), **delivery_usage(organization, period)}
        rows = [
            ("period", f"{period.start:%Y-%m-%d %H:%M} to {period.end:%Y-%m-%d %H:%M} UTC"),
            ("uploads", (usage["uploads"], plan and plan.upload_limit)),
            ("storage bytes", (usage["storage"], plan and plan.storage_bytes_limit)),
            ("pending uploads", (usage["pending"], plan and plan.maximum_pending_uploads)),
            ("transformations", (usage["transformations"], plan and plan.transformations_limit)),
            ("transfer bytes", (usage["transfer_bytes"], plan and plan.transfer_bytes_limit)),
        ]
        return format_html_join(
            "",
            "<div>{}: {}</div>",
            ((label, value if isinstance(value, str) else _of(*value)) for label, value in rows),
        )

    @admin.action(description="Block selected organizations (every upload and delivery: 402)")
    def block(self, request, queryset):
        for organization in queryset:
            organization_block(organization=organization)
        self.message_user(request, f"Blocked {len(queryset)} organization(s).", messages.SUCCESS)

    @admin.action(description="Unblock selected organizations")
    def unblock(self, request, queryset):
        for organization in queryset:
            organization_unblock(organization=organization)
        self.message_user(request, f"Unblocked {len(queryset)} organization(s).", messages.SUCCESS)

    @admin.action(description="Start a new quota period now (one month; usage from zero)")
    def start_new_quota_period(self, request, queryset):
        for organization in queryset:
            organization_quota_period_reset(organization=organization)
        self.message_user(
            request,
            f"Started a new quota period for {len(queryset)} organization(s).",
            messages.SUCCESS,
        )


def _of(used: int, limit: int | None) -> str:
    return f"{used} of {limit}" if limit is not None else f"{used} (unlimited)"


@admin.register(Environment)
class EnvironmentAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "is_default", "created_at"]
    list_select_related = ["organization"]
    raw_id_fields = ["organization"]
    search_fields = ["name", "id", "organization__name"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "organization", "role", "expires_at"]
    list_select_related = ["organization"]
    raw_id_fields = ["organization", "invited_by"]
    search_fields = ["email"]
    exclude = ["token_hash"]  # never shown: the token itself exists only in the email
    readonly_fields = ["organization", "email", "role", "invited_by", "expires_at"]

    def has_add_permission(self, request):
        return False  # invitations are sent from the dashboard, with their email
