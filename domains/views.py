"""Dashboard pages for an environment's CORS origins and custom domain. Developers read
them; owners and admins change them. Every change goes through the domains services."""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from rest_framework.exceptions import APIException

from domains.models import CorsOrigin
from domains.services import cors_origin_create, cors_origin_delete
from imgwire_site.dashboard import member_view


class PatternForm(forms.Form):
    pattern = forms.CharField(max_length=255, help_text="app.example.com, *.example.com, …")


class HostnameForm(forms.Form):
    hostname = forms.CharField(max_length=253, help_text="A subdomain, like images.example.com")


def _text(error: APIException) -> str:
    errors = getattr(error, "errors", None)
    if errors:
        return "; ".join(str(e.get("msg", e)) for e in errors)
    return str(error.detail)


def _back(request):
    return redirect("domains", environment_id=request.environment.id)


def _custom_domain(environment):
    # The custom domain models are optional here: an install without them still has CORS.
    try:
        from domains.models import CustomDomain
    except ImportError:
        return None, False
    return CustomDomain.objects.for_environment(environment).first(), True


@member_view()
def domains_page(request):
    domain, supported = _custom_domain(request.environment)
    return render(
        request,
        "dashboard/domains.html",
        {
            "cors_origins": CorsOrigin.objects.for_environment(request.environment).order_by(
                "pattern"
            ),
            "pattern_form": PatternForm(),
            "hostname_form": HostnameForm(),
            "custom_domain": domain,
            "custom_domains_supported": supported,
        },
    )


@member_view(manage=True)
@require_POST
def cors_create(request):
    form = PatternForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter a pattern such as app.example.com.")
        return _back(request)
    try:
        origin = cors_origin_create(
            environment=request.environment, pattern=form.cleaned_data["pattern"]
        )
        messages.success(request, f"{origin.pattern} may now upload from browsers.")
    except APIException as error:
        messages.error(request, _text(error))
    return _back(request)


@member_view(manage=True)
@require_POST
def cors_delete(request, cors_origin_id):
    try:
        cors_origin_delete(environment=request.environment, cors_origin_id=cors_origin_id)
        messages.success(request, "The CORS origin was removed.")
    except APIException as error:
        messages.error(request, _text(error))
    return _back(request)


@member_view(manage=True)
@require_POST
def custom_domain_action(request, action: str):
    from domains import custom_domains

    if action not in ("create", "test", "delete"):
        raise Http404("No such action.")
    try:
        if action == "create":
            form = HostnameForm(request.POST)
            if not form.is_valid():
                messages.error(request, "Enter a hostname such as images.example.com.")
                return _back(request)
            domain = custom_domains.custom_domain_create(
                environment=request.environment, hostname=form.cleaned_data["hostname"]
            )
            messages.success(request, f"{domain.hostname} was added: create the CNAME records.")
        elif action == "test":
            domain = custom_domains.custom_domain_test_connection(environment=request.environment)
            messages.success(request, f"{domain.hostname}: {domain.status}. {domain.status_reason}")
        elif action == "delete":
            custom_domains.custom_domain_delete(environment=request.environment)
            messages.success(request, "The custom domain was removed.")
    except APIException as error:
        messages.error(request, _text(error))
    return _back(request)
