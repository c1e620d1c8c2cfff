"""Django's own user admin, with deletion through the team services.

Deleting a user cascades to their memberships; done behind the team services' back, that
could remove an organization's last owner. Imported by environments/admin.py.
"""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import transaction

from environments.models import Membership
from environments.team import OPERATOR, membership_remove
from imgwire_site.admin_support import ServiceModelAdmin, confirmation

User = get_user_model()


@transaction.atomic
def _user_delete(user) -> None:
    for membership in Membership.objects.filter(user=user).select_related("organization"):
        membership_remove(membership=membership, actor=OPERATOR)
    user.delete()


admin.site.unregister(User)


@admin.register(User)
class ImgwireUserAdmin(ServiceModelAdmin, UserAdmin):
    actions = ["delete_selected"]

    def delete_model(self, request, obj):
        _user_delete(obj)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            _user_delete(user)

    @admin.action(description="Delete selected users and their memberships", permissions=["delete"])
    def delete_selected(self, request, queryset):
        asked = confirmation(
            self,
            request,
            queryset,
            action="delete_selected",
            question="Delete these users? They leave every organization they belong to; the "
            "last owner of an organization is kept until another owner is made.",
        )
        if asked is not None:
            return asked
        self.each(request, queryset, _user_delete, "Deleted {count} user(s).")
        return None
