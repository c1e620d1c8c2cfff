from django.contrib import admin

from domains.custom_domains import custom_domain_delete
from domains.models import CorsOrigin, CustomDomain
from domains.services import cors_origin_delete
from imgwire_site.admin_support import ServiceModelAdmin

# Domains and CORS origins are created, changed and verified through the API or dashboard
# (DNS checks, plan rules, canonical patterns); the admin shows them and deletes them
# through the same services (Django's delete_selected, with its confirmation, included).


@admin.register(CustomDomain)
class CustomDomainAdmin(ServiceModelAdmin):
    list_display = ["hostname", "environment", "status", "certificate_status", "last_verified_at"]
    list_filter = ["status", "certificate_status"]
    list_select_related = ["environment__organization"]
    search_fields = ["hostname"]
    readonly_fields = [f.name for f in CustomDomain._meta.fields]

    def has_add_permission(self, request):
        return False

    def delete_model(self, request, obj):
        custom_domain_delete(environment=obj.environment)

    def delete_queryset(self, request, queryset):
        for domain in queryset.select_related("environment"):
            custom_domain_delete(environment=domain.environment)


@admin.register(CorsOrigin)
class CorsOriginAdmin(ServiceModelAdmin):
    list_display = ["pattern", "environment", "created_at"]
    list_select_related = ["environment__organization"]
    search_fields = ["pattern"]
    readonly_fields = [f.name for f in CorsOrigin._meta.fields]

    def has_add_permission(self, request):
        return False

    def delete_model(self, request, obj):
        cors_origin_delete(environment=obj.environment, cors_origin_id=obj.id)

    def delete_queryset(self, request, queryset):
        for origin in queryset.select_related("environment"):
            cors_origin_delete(environment=origin.environment, cors_origin_id=origin.id)
