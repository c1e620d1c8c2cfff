"""Dashboard pages of the environments app: home, switching, organization creation, the
overview with usage against the plan, the team (members and invitations) and environments.
The organization's own settings (rename, leave) are in ``organization_views``."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from environments.forms import EnvironmentForm, InvitationForm, OrganizationForm, RoleForm
from environments.invitations import (
    invitation_invite,
    invitation_resend,
    invitation_revoke,
    invitations_outstanding,
)
from environments.lifecycle import (
    EnvironmentRuleError,
    environment_create_checked,
    environment_delete,
    environment_mark_default,
    environment_rename,
)
from environments.models import MANAGING_ROLES, Environment, Membership
from environments.quotas import delivery_usage, quota_period_of, upload_usage
from environments.services import organization_create
from environments.team import TeamRuleError, membership_remove, membership_role_change
from imgwire_site.dashboard import member_view
from imgwire_site.dashboard_format import human_datetime
from imgwire_site.domain import Refusal


def _environments_of(user):
    return Environment.objects.visible_to(user).order_by("created_at", "id")


@login_required
def home(request):
    """The last environment used, else the user's first, else organization creation."""
    environments = _environments_of(request.user)
    last = request.session.get("last_environment_id")
    environment = (last and environments.filter(id=last).first()) or environments.first()
    if environment is None:
        return redirect("organization-create")
    return redirect("dashboard-overview", environment_id=environment.id)


@login_required
def switch(request):
    """The header's switcher (a GET form, so it works without JavaScript)."""
    environment = (
        _environments_of(request.user).filter(id=request.GET.get("environment", "")).first()
        if _is_uuid(request.GET.get("environment", ""))
        else None
    )
    if environment is None:
        messages.error(request, "Choose one of your environments.")
        return redirect("dashboard-home")
    return redirect("dashboard-overview", environment_id=environment.id)


def _is_uuid(value: str) -> bool:
    import uuid

    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@login_required
def organization_new(request):
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organization = organization_create(name=form.cleaned_data["name"], owner=request.user)
        environment = organization.environments.get(is_default=True)
        messages.success(request, f"{organization.name} is ready, with its {environment.name}.")
        return redirect("dashboard-overview", environment_id=environment.id)
    return render(request, "dashboard/organization_new.html", {"form": form})


@member_view()
def overview(request):
    organization = request.environment.organization
    plan = organization.billing_plan
    period = quota_period_of(organization)
    uploads = upload_usage(organization, period)
    delivery = delivery_usage(organization, period)

    def row(label, used, limit, is_bytes=False):
        percent = min(100, round(100 * used / limit)) if limit else None
        # A full bar alone does not say "over": the limit checks refuse at used >= limit.
        state = None
        if limit is not None and used > limit:
            state = "over the limit"
        elif limit is not None and used == limit:
            state = "limit reached"
        return {
            "label": label,
            "used": used,
            "limit": limit,
            "percent": percent,
            "bytes": is_bytes,
            "state": state,
        }

    usage = [
        row("Storage", uploads["storage"], plan and plan.storage_bytes_limit, True),
        row("Uploads this period", uploads["uploads"], plan and plan.upload_limit),
        row("Transformations", delivery["transformations"], plan and plan.transformations_limit),
        row("Transfer", delivery["transfer_bytes"], plan and plan.transfer_bytes_limit, True),
        row("Pending uploads", uploads["pending"], plan and plan.maximum_pending_uploads),
    ]
    return render(
        request,
        "dashboard/overview.html",
        {"plan": plan, "period": period, "usage": usage, "organization": organization},
    )


# --- team -------------------------------------------------------------------------------


@member_view()
def team(request):
    organization = request.environment.organization
    members = Membership.objects.filter(organization=organization).select_related("user")
    # The links are for the people who may invite: a developer sees only the members.
    manages = request.membership.role in MANAGING_ROLES
    invitations = invitations_outstanding(organization) if manages else []
    return render(
        request,
        "dashboard/team.html",
        {
            "members": members.order_by("created_at"),
            "invitations": invitations,
            "invite_form": InvitationForm(),
            "roles": RoleForm.base_fields["role"].choices,
        },
    )


def _team(request):
    return redirect("team", environment_id=request.environment.id)


@member_view(manage=True)
@require_POST
def invite(request):
    form = InvitationForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter a valid email address and choose a role.")
        return _team(request)
    try:
        invitation = invitation_invite(
            organization=request.environment.organization,
            email=form.cleaned_data["email"],
            role=form.cleaned_data["role"],
            invited_by=request.user,
        )
    except Refusal as refusal:
        messages.error(request, str(refusal))
        return _team(request)
    messages.success(
        request,
        f"Invitation sent to {invitation.email}. You can also copy its link from the list.",
    )
    return _team(request)


@member_view(manage=True)
@require_POST
def invitation_resend_view(request, invitation_id):
    try:
        invitation = invitation_resend(
            organization=request.environment.organization,
            invitation_id=invitation_id,
            sent_by=request.user,
        )
    except Refusal as refusal:
        messages.error(request, str(refusal))
        return _team(request)
    messages.success(
        request,
        f"Invitation sent again to {invitation.email}, valid until "
        f"{human_datetime(invitation.expires_at)}.",
    )
    return _team(request)


def _member(request, membership_id) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user", "organization"),
        id=membership_id,
        organization_id=request.environment.organization_id,
    )


@member_view(manage=True)
@require_POST
def member_role(request, membership_id):
    membership = _member(request, membership_id)
    form = RoleForm(request.POST)
    if form.is_valid():
        try:
            membership_role_change(
                membership=membership, role=form.cleaned_data["role"], actor=request.membership
            )
            messages.success(
                request, f"{membership.user.email} is now {form.cleaned_data['role']}."
            )
        except TeamRuleError as error:
            messages.error(request, str(error))
    else:
        messages.error(request, "Choose OWNER, ADMIN or DEVELOPER.")
    return redirect("team", environment_id=request.environment.id)


@member_view(manage=True)
@require_POST
def member_remove(request, membership_id):
    membership = _member(request, membership_id)
    try:
        membership_remove(membership=membership, actor=request.membership)
        messages.success(request, f"{membership.user.email} was removed.")
    except TeamRuleError as error:
        messages.error(request, str(error))
    if (
        membership.user_id == request.user.id
        and not Membership.objects.filter(pk=membership.pk).exists()
    ):
        return redirect("dashboard-home")
    return redirect("team", environment_id=request.environment.id)


@member_view(manage=True)
@require_POST
def invitation_revoke_view(request, invitation_id):
    if invitation_revoke(
        organization=request.environment.organization, invitation_id=invitation_id
    ):
        messages.success(request, "Invitation revoked: its link no longer works.")
    else:
        messages.error(request, "This invitation was already accepted or revoked.")
    return _team(request)


# --- environments -------------------------------------------------------------------------


@member_view()
def environment_list(request):
    organization = request.environment.organization
    return render(
        request,
        "dashboard/environments.html",
        {
            "organization_environments": Environment.objects.for_organization(organization),
            "form": EnvironmentForm(),
        },
    )


def _environment(request, other_id) -> Environment:
    return get_object_or_404(
        Environment.objects.select_related("organization"),
        id=other_id,
        organization_id=request.environment.organization_id,
    )


def _back(request):
    return redirect("environments", environment_id=request.environment.id)


@member_view(manage=True)
@require_POST
def environment_new(request):
    form = EnvironmentForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the environment a name of at most 100 characters.")
        return _back(request)
    try:
        created = environment_create_checked(
            organization=request.environment.organization, name=form.cleaned_data["name"]
        )
    except EnvironmentRuleError as error:
        messages.error(request, str(error))
        return _back(request)
    messages.success(request, f"{created.name} was created.")
    return redirect("dashboard-overview", environment_id=created.id)


@member_view(manage=True)
@require_POST
def environment_rename_view(request, other_id):
    environment = _environment(request, other_id)
    form = EnvironmentForm(request.POST)
    if form.is_valid():
        try:
            environment_rename(environment=environment, name=form.cleaned_data["name"])
            messages.success(request, f"Renamed to {environment.name}.")
        except EnvironmentRuleError as error:
            messages.error(request, str(error))
    else:
        messages.error(request, "Give the environment a name of at most 100 characters.")
    return _back(request)


@member_view(manage=True)
@require_POST
def environment_default_view(request, other_id):
    environment = _environment(request, other_id)
    environment_mark_default(environment=environment)
    messages.success(request, f"{environment.name} is now the default environment.")
    return _back(request)


@member_view(manage=True)
def environment_delete_view(request, other_id):
    """GET asks to type the name; POST with the exact name deletes."""
    environment = _environment(request, other_id)
    if request.method != "POST":
        return render(request, "dashboard/environment_delete.html", {"target": environment})
    if request.POST.get("confirm_name") != environment.name:
        messages.error(request, f"Type {environment.name} exactly to confirm the deletion.")
        return redirect(
            "environment-delete", environment_id=request.environment.id, other_id=environment.id
        )
    deleted_id = environment.id  # Model.delete() clears the instance's primary key
    try:
        environment_delete(environment=environment)
    except EnvironmentRuleError as error:
        messages.error(request, str(error))
        return _back(request)
    messages.success(request, f"{environment.name} and its images were deleted.")
    if deleted_id == request.environment.id:
        request.session.pop("last_environment_id", None)
        return redirect("dashboard-home")
    return _back(request)
