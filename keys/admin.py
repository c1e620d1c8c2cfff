from django.contrib import admin

from keys.models import ApiKey
from keys.services import api_key_revoke


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "key_type", "last4", "environment", "last_used_at", "revoked_at"]
    list_select_related = ["environment__organization"]
    list_filter = ["key_type"]
    raw_id_fields = ["environment"]
    # Hashes and lookup prefixes are never shown; secrets are not stored at all.
    exclude = ["secret_hash", "prefix"]
    readonly_fields = ["key_type", "last4", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # keys are minted with their secret shown once: dashboard or bootstrap

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        for key in queryset:
            api_key_revoke(key=key)
