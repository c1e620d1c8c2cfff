"""Shared plumbing of the dashboard pages: who is signed in, in which environment, with
which role. Views in each app use ``member_view``; templates get the switchers' data."""

import functools

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404

from environments.models import MANAGING_ROLES, Environment, Membership, Organization


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
                Environment.objects.select_related("organization").filter(id=environment_id).first()
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
        # One query for the organizations and one for all their environments, however many.
        "organizations": Organization.objects.for_user(request.user)
        .order_by("name")
        .prefetch_related("environments"),
    }
