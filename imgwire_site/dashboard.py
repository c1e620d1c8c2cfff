"""Shared plumbing of the dashboard pages: who is signed in, in which environment, with
which role. Views in each app use ``member_view``; templates get the switchers' data."""

import functools

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404

from environments.models import (
    MANAGING_ROLES,
    Environment,
    Membership,
    Organization,
    SubscriptionStatus,
)
from environments.quotas import (
    check_delivery_allowed,
    check_organization_in_good_standing,
    check_upload_allowed,
)
from imgwire_site.api.errors import PaymentRequiredError


def member_view(manage: bool = False):
    """Resolve ``environment_id`` from the URL for the signed-in member, or 404.

    ``manage=True`` also requires OWNER/ADMIN (403 for DEVELOPER): roles are enforced on the
    server, not only hidden in menus.
    """

    def decorator(view):
        @login_required
        @functools.wraps(view)
        def wrapper(request, environment_id, *args, **kwargs):
            environment = (
                # The plan rides along: the standing banner and the overview read it on every page.
                Environment.objects.select_related("organization__billing_plan")
                .filter(id=environment_id)
                .first()
            )
            membership = (
                environment
                and Membership.objects.filter(
                    organization_id=environment.organization_id, user=request.user
                ).first()
            )
            if not membership:
                raise Http404("No such environment.")
            if manage and membership.role not in MANAGING_ROLES:
                raise PermissionDenied("Only owners and admins may do this.")
            request.environment = environment
            request.membership = membership
            if request.session.get("last_environment_id") != str(environment.id):
                # Written only on change: an unchanged session costs no UPDATE per page.
                request.session["last_environment_id"] = str(environment.id)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def switchers(request) -> dict:
    """Context processor: the organizations and environments the header switches between."""
    environment = getattr(request, "environment", None)
    if environment is None or not request.user.is_authenticated:
        return {}
    return {
        "current_environment": environment,
        "current_organization": environment.organization,
        "current_membership": getattr(request, "membership", None),
        "can_manage": getattr(request, "membership", None) is not None
        and request.membership.role in MANAGING_ROLES,
        "standing_notices": standing_notices(environment),
        # One query for the organizations and one for all their environments, however many.
        "organizations": Organization.objects.for_user(request.user)
        .order_by("name")
        .prefetch_related("environments"),
    }


def standing_notices(environment) -> list[dict]:
    """What the organization cannot do right now and why, for the banner on every page.

    The sentences are the quota checks' own, so the banner says exactly what the API would
    answer. Costs nothing for a blocked organization or an unlimited plan, and at most one
    aggregate per limited measure otherwise (the checks' own queries).
    """
    organization = environment.organization
    try:
        check_organization_in_good_standing(organization)
    except PaymentRequiredError as refusal:
        what = (
            "Uploads and delivery are blocked"
            if organization.blocked
            else "Uploads and delivery are stopped"
        )
        return [{"what": what, "why": str(refusal)}]
    notices = []
    if organization.subscription_status == SubscriptionStatus.PAST_DUE:
        notices.append(
            {
                "what": "Payment is past due",
                "why": "Everything keeps working while the payment is retried; if it does "
                "not succeed, uploads and delivery stop.",
            }
        )
    try:
        check_upload_allowed(environment)
    except PaymentRequiredError as refusal:
        notices.append({"what": "Uploads are refused", "why": str(refusal)})
    try:
        # is_cached=False: the banner names the restriction itself, not one image's fate.
        check_delivery_allowed(organization, is_cached=lambda: False)
    except PaymentRequiredError as refusal:
        notices.append({"what": "Public delivery is limited", "why": str(refusal)})
    return notices
