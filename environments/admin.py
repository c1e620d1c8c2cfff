"""Operators' view of plans, organizations and their teams, environments and invitations.

Every change goes through the service that owns it (environments.services, .team,
.lifecycle), so the admin keeps the rules the dashboard keeps; the changelists cost a fixed
number of queries (tests/environments/test_admin.py pins them).
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.utils.html import format_html_join

from environments import admin_users  # noqa: F401  (registers the user admin)
from environments.forms import EnvironmentAdminForm
from environments.lifecycle import (
    environment_create_checked,
    environment_delete,
    environment_mark_default,
    environment_rename,
)
from environments.models import (
    BillingPlan,
    Environment,
    Invitation,
    Membership,
    Organization,
    Role,
)
from environments.quotas import check_member_limit, delivery_usage, quota_period_of, upload_usage
from environments.services import (
    ORGANIZATION_EDITABLE_FIELDS,
    membership_create,
    organization_block,
    organization_quota_period_reset,
    organization_unblock,
    organization_update,
)
from environments.team import OPERATOR, invitation_revoke, membership_remove, membership_role_change
from imgwire_site.admin_support import AdminRefusal, ServiceModelAdmin, confirmation

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
    """Saved by OrganizationAdmin.save_formset through the team services, never directly."""

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
class OrganizationAdmin(ServiceModelAdmin):
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

    def has_delete_permission(self, request, obj=None):
        # A cascade would delete its images' rows and leave their stored objects behind,
        # and no service deletes an organization yet: block it instead (every request 402).
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("billing_plan")

    def save_model(self, request, obj, form, change):
        organization_update(
            organization=obj, **{name: form.cleaned_data[name] for name in form.changed_data}
        )

    def save_formset(self, request, form, formset, change):
        """The membership inline, through the team services, acting as the operator (any
        role may be granted; the last owner still stays). Additions come first so an
        operator can add (or promote) a new owner and demote the old one in one submission.
        A refusal rolls back the whole submission (ServiceModelAdmin)."""
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        formset.save(commit=False)  # sorts the rows into new, changed and deleted ones
        organization = form.instance
        for membership in formset.new_objects:
            if Membership.objects.filter(organization=organization, user=membership.user).exists():
                raise AdminRefusal(f"{membership.user} is already a member.")
            check_member_limit(organization)
            membership_create(organization=organization, user=membership.user, role=membership.role)
        # Promotions to OWNER before the other changes, for the same reason.
        changes = sorted(formset.changed_objects, key=lambda item: item[0].role != Role.OWNER)
        for membership, changed in changes:
            if "user" in changed:
                raise AdminRefusal(
                    "A membership cannot be handed to another user: remove it and add theirs."
                )
            membership_role_change(membership=membership, role=membership.role, actor=OPERATOR)
        for membership in formset.deleted_objects:
            membership_remove(membership=membership, actor=OPERATOR)
        return None

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
class EnvironmentAdmin(ServiceModelAdmin):
    form = EnvironmentAdminForm
    list_display = ["name", "organization", "is_default", "created_at"]
    list_select_related = ["organization"]
    raw_id_fields = ["organization"]
    search_fields = ["name", "id", "organization__name"]
    fields = ["organization", "name", "make_default"]
    # delete_selected replaces Django's own, whose cascade leaves the images' stored objects
    # behind and may delete an organization's last environment.
    actions = ["delete_selected"]

    def get_readonly_fields(self, request, obj=None):
        # Moving an environment would move its images, keys and domain to another tenant.
        return ["organization"] if obj is not None else []

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            created = environment_create_checked(
                organization=data["organization"], name=data["name"]
            )
            obj.pk = created.pk  # the admin goes on with obj: logging, the redirect
        elif "name" in form.changed_data:
            environment_rename(environment=Environment.objects.get(pk=obj.pk), name=data["name"])
        if data["make_default"] and (not change or "make_default" in form.changed_data):
            environment_mark_default(environment=Environment.objects.get(pk=obj.pk))
        obj.refresh_from_db()

    def get_deleted_objects(self, objs, request):
        # Keys and download jobs cannot be deleted on their own in the admin (they are
        # revoked, or expire); environment_delete owns the cascade that removes them here.
        deleted, counts, _, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

    def delete_model(self, request, obj):
        environment_delete(environment=obj)

    def delete_queryset(self, request, queryset):
        for environment in queryset.select_related("organization"):
            environment_delete(environment=environment)

    @admin.action(
        description="Delete selected environments with their images", permissions=["delete"]
    )
    def delete_selected(self, request, queryset):
        asked = confirmation(
            self,
            request,
            queryset,
            action="delete_selected",
            question="Delete these environments with everything in them? Their images are "
            "removed from storage, their keys stop working. An organization's last "
            "environment is kept.",
        )
        if asked is not None:
            return asked
        self.each(
            request,
            queryset.select_related("organization"),
            lambda environment: environment_delete(environment=environment),
            "Deleted {count} environment(s) and their images.",
        )
        return None


@admin.register(Invitation)
class InvitationAdmin(ServiceModelAdmin):
    list_display = ["email", "organization", "role", "expires_at", "accepted_at"]
    list_select_related = ["organization"]
    search_fields = ["email"]
    exclude = ["token_hash"]  # never shown: the token itself exists only in the email
    readonly_fields = [
        "organization",
        "email",
        "role",
        "invited_by",
        "expires_at",
        "accepted_at",
        "created_at",
    ]

    def has_add_permission(self, request):
        return False  # invitations are sent from the dashboard, with their email

    def delete_model(self, request, obj):
        invitation_revoke(organization=obj.organization, invitation_id=obj.id)

    def delete_queryset(self, request, queryset):
        for invitation in queryset.select_related("organization"):
            invitation_revoke(organization=invitation.organization, invitation_id=invitation.id)
