"""Requests on connected custom domains, and the TLS front end's "may I?" hook.

``CustomDomainMiddleware`` sits first in MIDDLEWARE. For a request whose Host is a
CONNECTED custom domain it calls the delivery view with that environment's ids and
answers every other path on the host with 404, so a custom domain never exposes the API,
the admin or another environment's images. Any other Host passes through untouched (and
meets ALLOWED_HOSTS as usual): connected domains are admitted here, by the database,
instead of by ALLOWED_HOSTS, which is why the Host is read raw rather than through
``request.get_host()``.

The lookup is one indexed query, made only for hosts that could be custom domains (three
or more labels, not the install's own names; domains/hostnames.py), and its result is
kept on the request only: a domain deleted or demoted stops serving on the next request.
"""

import uuid
from typing import NamedTuple

from django.http import JsonResponse
from django.views.decorators.http import require_GET

from domains.hostnames import (
    InvalidHostname,
    could_be_custom_domain,
    normalise_hostname,
    request_host,
)
from domains.models import CustomDomain
from images.delivery.views import deliver


class ConnectedDomain(NamedTuple):
    hostname: str
    environment_id: uuid.UUID
    organization_id: uuid.UUID


def connected_domain(host: str) -> ConnectedDomain | None:
    row = (
        CustomDomain.objects.connected()
        .filter(hostname=host)
        .values_list("hostname", "environment_id", "environment__organization_id")
        .first()
    )
    return ConnectedDomain(*row) if row else None


def _not_found(message: str = "No such image.") -> JsonResponse:
    response = JsonResponse({"detail": message, "error_type": "ResourceNotFoundError"}, status=404)
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _is(text: str, expected: uuid.UUID) -> bool:
    try:
        return uuid.UUID(text) == expected
    except ValueError:
        return False


def serve_custom_domain(request, domain: ConnectedDomain):
    """``/{image}[@preset]`` and ``/{org}/{env}/{image}[@preset]`` of this environment only."""
    parts = request.path_info.split("/")[1:]
    if len(parts) == 1 and parts[0]:
        image_ref = parts[0]
    elif (
        len(parts) == 3
        and parts[2]
        and _is(parts[0], domain.organization_id)
        and _is(parts[1], domain.environment_id)
    ):
        image_ref = parts[2]
    else:
        return _not_found()
    return deliver(request, str(domain.organization_id), str(domain.environment_id), image_ref)


class CustomDomainMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        host = request_host(request)
        domain = connected_domain(host) if could_be_custom_domain(host) else None
        request.imgwire_custom_domain = domain
        if domain is None:
            return self.get_response(request)
        return serve_custom_domain(request, domain)


@require_GET
def tls_allowed(request):
    """``GET /hooks/tls-allowed?domain=<host>``: 200 only for a CONNECTED custom domain.

    Caddy's on-demand TLS ``ask`` endpoint: a certificate is obtained only for host names
    that verifiably CNAME to this install, so nobody can make it request certificates
    (and burn ACME rate limits) for arbitrary names pointed at its address.
    """
    try:
        hostname = normalise_hostname(request.GET.get("domain", ""))
    except InvalidHostname:
        return _not_found("Not a custom domain of this install.")
    if connected_domain(hostname) is None:
        return _not_found("Not a connected custom domain of this install.")
    return JsonResponse({"domain": hostname, "allowed": True})
