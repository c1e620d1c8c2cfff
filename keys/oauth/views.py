"""The authorization server's pages and endpoints, on django-oauth-toolkit's views.

Only what Imgwire adds lives here: the consent page picks the environment a grant acts in,
registration accepts authorization-code clients only, and the protected-resource metadata
names /mcp."""

import uuid

from django.contrib import messages
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from oauth2_provider.models import get_application_model
from oauth2_provider.views import (
    AuthorizationView,
    DynamicClientRegistrationManagementView,
    DynamicClientRegistrationView,
    OAuthProtectedResourceMetadataView,
)

from imgwire_site.api.errors import RequestValidationError
from imgwire_site.api.parsers import loads_strictly
from imgwire_site.api.text import problem_sentence
from imgwire_site.dashboard import member_view
from keys.oauth.models import AgentGrant
from keys.oauth.scopes import SCOPES, scopes_allowed_for_role, scopes_clean
from keys.oauth.services import (
    environments_for_consent,
    grant_record,
    grant_revoke,
    resources_served,
)
from keys.oauth.sessions import sign_out_everywhere

# RFC 7591 grant types a client may register: OAuth 2.1's code flow and its refresh.
REGISTRABLE_GRANT_TYPES = frozenset({"authorization_code", "refresh_token"})


class ConsentView(AuthorizationView):
    """The dashboard's consent page: the client, its scopes, and the environment to act in."""

    template_name = "oauth/consent.html"

    def get(self, request, *args, **kwargs):
        resources = request.GET.getlist("resource")
        served = resources_served(request.build_absolute_uri("/"))
        unknown = [r for r in resources if r.rstrip("/") not in served]
        if unknown:
            # RFC 8707 invalid_target: we issue tokens for our own resources only.
            return render(
                request,
                self.template_name,
                {"error": {"error": "invalid_target", "description": "Unknown resource."}},
                status=400,
            )
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        memberships = {m.organization_id: m.role for m in self.request.user.memberships.all()}
        asked = scopes_clean(context.get("scopes") or self.request.POST.get("scope", ""))
        context["environments"] = [
            {
                "environment": environment,
                "role": memberships.get(environment.organization_id, ""),
                "beyond_role": [
                    s
                    for s in asked
                    if s not in scopes_allowed_for_role(memberships[environment.organization_id])
                ],
            }
            for environment in environments_for_consent(self.request.user)
        ]
        if "application" not in context:  # re-shown after a refused POST
            context["application"] = self._application(self.request.POST.get("client_id"))
            context["redirect_uri"] = self.request.POST.get("redirect_uri", "")
        context["asked_scopes"] = [(scope, SCOPES[scope]) for scope in asked]
        context["selected_environment"] = self.request.POST.get(
            "environment_id", self.request.session.get("last_environment_id", "")
        )
        return context

    def form_valid(self, form):
        if form.cleaned_data.get("allow"):
            application = self._application(form.cleaned_data["client_id"])
            grant = application and grant_record(
                user=self.request.user,
                application=application,
                environment_id=_uuid_or_none(self.request.POST.get("environment_id")),
                scopes=form.cleaned_data.get("scope", ""),
            )
            if not grant:
                form.add_error(None, "Choose an environment you belong to.")
                return self.form_invalid(form)
        return super().form_valid(form)

    @staticmethod
    def _application(client_id):
        return get_application_model().objects.filter(client_id=client_id).first()


def _uuid_or_none(raw):
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        return None


def _checked_metadata(request) -> tuple[object, JsonResponse | None]:
    """The RFC 7591 metadata, or the refusal to answer instead. It must be JSON a database
    can store, checked as the Resource API checks its bodies (imgwire_site/api/parsers.py:
    strict UTF-8, no NUL or lone surrogate, bounded nesting): django-oauth-toolkit parses
    it with the plain json module, so a body nested ~1 000 levels deep raised
    RecursionError and a NUL in client_name reached PostgreSQL, both a 500. Answered in
    RFC 7591's error shape."""
    try:
        data = loads_strictly(request.body or b"{}")
    except RequestValidationError as error:
        return None, _invalid_metadata(problem_sentence(error.errors[0]))
    if isinstance(data, dict) and not isinstance(data.get("client_name", ""), str):
        return None, _invalid_metadata("client_name must be a string.")
    return data, None


def _invalid_metadata(description: str) -> JsonResponse:
    return JsonResponse(
        {"error": "invalid_client_metadata", "error_description": description}, status=400
    )


class RegistrationView(DynamicClientRegistrationView):
    """RFC 7591 registration, open as the MCP authorization spec expects, for code clients."""

    def post(self, request, *args, **kwargs):
        data, refusal = _checked_metadata(request)
        if refusal is not None:
            return refusal
        if isinstance(data, dict):
            grant_types = data.get("grant_types", ["authorization_code"])
            response_types = data.get("response_types", ["code"])
            if (
                not isinstance(grant_types, list)
                or not set(map(str, grant_types)) <= REGISTRABLE_GRANT_TYPES
                or "authorization_code" not in grant_types
                or response_types != ["code"]
            ):
                return _invalid_metadata(
                    "Only the authorization_code grant (with PKCE) and refresh_token may be "
                    "registered."
                )
        return super().post(request, *args, **kwargs)


class RegistrationManagementView(DynamicClientRegistrationManagementView):
    """RFC 7592: a registered client reads, replaces or deletes its registration; its new
    metadata is checked as a registration's is."""

    def put(self, request, *args, **kwargs):
        _, refusal = _checked_metadata(request)
        if refusal is not None:
            return refusal
        return super().put(request, *args, **kwargs)


class ResourceMetadataView(OAuthProtectedResourceMetadataView):
    """RFC 9728: the protected resource is the MCP server, at either well-known form."""

    def get_resource(self, request):
        return f"{request.build_absolute_uri('/').rstrip('/')}/mcp"

    def get_authorization_servers(self, request):
        return [request.build_absolute_uri("/").rstrip("/")]


@member_view()
def connections(request):
    grants = AgentGrant.objects.for_member(request.user).order_by("-created_at")
    return render(
        request,
        "dashboard/connections.html",
        {"grants": grants, "scope_names": SCOPES},
    )


@require_POST
@member_view()
def connection_revoke(request, grant_id):
    if grant_revoke(user=request.user, grant_id=grant_id):
        messages.success(request, "Connection revoked: its tokens no longer work.")
    return redirect("agent-connections", environment_id=request.environment.id)


@require_POST
@member_view()
def sign_out_everywhere_view(request):
    sessions, connections = sign_out_everywhere(user=request.user)
    logout(request)
    messages.success(
        request,
        f"Signed out everywhere: {sessions} session(s) ended, {connections} connection(s) "
        "revoked. Sign in again to continue.",
    )
    return redirect("login")
