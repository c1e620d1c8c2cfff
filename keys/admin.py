from django.contrib import admin, messages

from imgwire_site.admin_support import ServiceModelAdmin
from keys.forms import ApiKeyAdminForm
from keys.models import ApiKey
from keys.services import (
    CLIENT_POLICY_FIELDS,
    api_key_policy_update,
    api_key_rename,
    api_key_revoke,
)

# Never editable: moving a key to another environment would hand a live secret to another
# tenant, and its type decides what the secret may do (and its sk_/ck_ prefix).
FIXED_FIELDS = ["environment", "key_type", "last4", "scopes", "last_used_at", "revoked_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(ServiceModelAdmin):
    form = ApiKeyAdminForm
    list_display = ["name", "key_type", "last4", "environment", "last_used_at", "revoked_at"]
    list_select_related = ["environment__organization"]
    list_filter = ["key_type"]
    # Hashes and lookup prefixes are never shown; secrets are not stored at all.
    exclude = ["secret_hash", "prefix"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # keys are minted with their secret shown once: dashboard or bootstrap

    def has_delete_permission(self, request, obj=None):
        # Revoking is how a key ends: the row stays for the images it created and the audit.
        return False

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_revoked:
            return [*FIXED_FIELDS, "name", *sorted(CLIENT_POLICY_FIELDS)]
        if obj is not None and obj.is_server:
            # Client policies mean nothing on a Server key, which may do everything.
            return [*FIXED_FIELDS, *sorted(CLIENT_POLICY_FIELDS)]
        return FIXED_FIELDS

    def save_model(self, request, obj, form, change):
        key = ApiKey.objects.get(pk=obj.pk)
        if "name" in form.changed_data:
            api_key_rename(key=key, name=form.cleaned_data["name"])
        policy = {n: form.cleaned_data[n] for n in form.changed_data if n in CLIENT_POLICY_FIELDS}
        if policy:
            api_key_policy_update(key=key, **policy)

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        active = list(queryset.active())
        for key in active:
            api_key_revoke(key=key)
        self.message_user(request, f"Revoked {len(active)} key(s).", messages.SUCCESS)
