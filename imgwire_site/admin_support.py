"""What every Imgwire ModelAdmin shares: changes go through services, and a service's
refusal reaches the operator as a message, never as a 500.

Django runs the change and delete views in one transaction, so a refusal raised by a
service part-way through a save (say the last owner's removal in the membership inline,
after the organization itself was saved) rolls back everything the submission did.
"""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from environments.lifecycle import EnvironmentRuleError
from environments.team import TeamRuleError
from imgwire_site.api.errors import DomainError
from imgwire_site.domain import Refusal


class AdminRefusal(ValueError):
    """A change the admin itself refuses (no service could make sense of it)."""


# What services raise when a change breaks a rule: shown to the operator, nothing saved.
REFUSALS = (AdminRefusal, TeamRuleError, EnvironmentRuleError, Refusal, DomainError)


class ServiceModelAdmin(admin.ModelAdmin):
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except REFUSALS as refusal:
            self.message_user(request, f"Nothing was saved: {refusal}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except REFUSALS as refusal:
            self.message_user(request, f"Nothing was deleted: {refusal}", messages.ERROR)
            opts = self.opts
            return HttpResponseRedirect(
                reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[object_id])
            )

    def each(self, request, items, perform, done: str) -> None:
        """Apply ``perform`` to each item, each in its own service call; report what was done
        and, for the refused ones, why."""
        count, refused = 0, []
        for item in items:
            label = str(item)
            try:
                perform(item)
                count += 1
            except REFUSALS as refusal:
                refused.append(f"{label}: {refusal}")
        if count:
            self.message_user(request, done.format(count=count), messages.SUCCESS)
        for line in refused[:10]:
            self.message_user(request, f"Refused: {line}", messages.ERROR)
        if len(refused) > 10:
            self.message_user(request, f"… and {len(refused) - 10} more refused.", messages.ERROR)


def confirmation(modeladmin, request, queryset, *, action: str, question: str):
    """None once the operator confirmed; otherwise the page that asks (the stock
    delete_selected's confirmation, for an action that calls a service instead)."""
    if request.POST.get("confirm") == "yes":
        return None
    selected = list(queryset.values_list("pk", flat=True))
    return TemplateResponse(
        request,
        "admin/confirm_action.html",
        {
            **modeladmin.admin_site.each_context(request),
            "opts": modeladmin.opts,
            "title": question,
            "question": question,
            "shown": list(queryset[:20]),
            "more": max(0, len(selected) - 20),
            "selected": selected,
            "action": action,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        },
    )
