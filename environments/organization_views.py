"""The organization's settings page: its name (owners and admins rename it) and leaving it
(anyone but the last owner)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from environments.forms import OrganizationForm
from environments.models import MANAGING_ROLES, Membership, Role
from environments.services import organization_rename
from environments.team import membership_leave
from imgwire_site.dashboard import member_view
from imgwire_site.domain import Refusal


def _settings(request):
    return redirect("organization-settings", environment_id=request.environment.id)


@member_view()
def organization_settings(request):
    organization = request.environment.organization
    membership = request.membership
    is_last_owner = (
        membership.role == Role.OWNER
        and not Membership.objects.filter(organization=organization, role=Role.OWNER)
        .exclude(pk=membership.pk)
        .exists()
    )
    return render(
        request,
        "dashboard/organization_settings.html",
        {
            "organization": organization,
            "rename_form": OrganizationForm(initial={"name": organization.name}),
            "may_rename": membership.role in MANAGING_ROLES,
            "is_last_owner": is_last_owner,
        },
    )


@member_view(manage=True)
@require_POST
def organization_rename_view(request):
    form = OrganizationForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the organization a name of 1 to 200 characters.")
        return _settings(request)
    try:
        organization = organization_rename(
            organization=request.environment.organization,
            name=form.cleaned_data["name"],
            actor=request.membership,
        )
    except Refusal as refusal:
        messages.error(request, str(refusal))
        return _settings(request)
    messages.success(request, f"The organization is now called {organization.name}.")
    return _settings(request)


@member_view()
@require_POST
def organization_leave_view(request):
    organization = request.environment.organization
    try:
        membership_leave(membership=request.membership)
    except Refusal as refusal:
        messages.error(request, str(refusal))
        return _settings(request)
    # The dashboard's home would otherwise bring them back to the environment they left.
    request.session.pop("last_environment_id", None)
    messages.success(request, f"You left {organization.name}.")
    return redirect("dashboard-home")
