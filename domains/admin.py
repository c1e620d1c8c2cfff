from django.contrib import admin

from domains.models import CorsOrigin, CustomDomain


@admin.register(CustomDomain)
class CustomDomainAdmin(admin.ModelAdmin):
    list_display = ["hostname", "environment", "status", "certificate_status", "last_verified_at"]
    list_filter = ["status", "certificate_status"]
    list_select_related = ["environment__organization"]
    raw_id_fields = ["environment"]
    search_fields = ["hostname"]
    # Domains are created and verified through the API or dashboard (DNS checks, plan rules).
    readonly_fields = [f.name for f in CustomDomain._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(CorsOrigin)
class CorsOriginAdmin(admin.ModelAdmin):
    list_display = ["pattern", "environment", "created_at"]
    list_select_related = ["environment__organization"]
    raw_id_fields = ["environment"]
    search_fields = ["pattern"]
    readonly_fields = [f.name for f in CorsOrigin._meta.fields]

    def has_add_permission(self, request):
        return False
