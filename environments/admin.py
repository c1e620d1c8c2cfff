from django.contrib import admin

from environments.models import BillingPlan, Environment, Membership, Organization


@admin.register(BillingPlan)
class BillingPlanAdmin(admin.ModelAdmin):
    list_display = ["name", "is_default", "upload_limit", "storage_bytes_limit", "priority"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "billing_plan", "subscription_status", "blocked", "created_at"]
    list_select_related = ["billing_plan"]
    list_filter = ["blocked", "subscription_status"]
    search_fields = ["name", "id"]
    inlines = [MembershipInline]


@admin.register(Environment)
class EnvironmentAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "is_default", "created_at"]
    list_select_related = ["organization"]
    raw_id_fields = ["organization"]
    search_fields = ["name", "id", "organization__name"]
