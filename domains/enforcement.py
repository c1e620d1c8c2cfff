"""Which browser calls get CORS headers, and which Client-Key calls are refused by Origin.

django-cors-headers does the header mechanics; it asks ``cors_request_allowed`` (its
``check_request_enabled`` signal) whether to answer a request's origin. The answer is:

* preflights (OPTIONS, which carry no key, so no environment) for the Client-Key
  endpoints and the upload PUT: yes, for any origin; the actual request is checked;
* an actual Client-Key request: yes only once its view has called
  ``client_origin_check``, which refuses (403) an origin the environment does not list;
* the upload PUT (``/ingest/…``): yes; its signature is the credential, and it was only
  handed out by a standard_upload that passed the origin check.

Everything else (server keys, dashboard sessions, other paths) gets no CORS headers.
"""

import re

from domains.cors import origin_allowed, parse_origin
from domains.models import CorsOrigin
from imgwire_site.api.errors import ResourceNotAuthorizedError

# Set on the Django request by client_origin_check, read by the CORS middleware afterwards.
_ALLOWED_ATTRIBUTE = "imgwire_cors_origin_allowed"

_INGEST = re.compile(r"^/ingest/[^/]+$")
# The only cross-origin calls a browser makes, with the one method each may use.
_BROWSER_ENDPOINTS = [
    (re.compile(r"^/api/v1/images/standard_upload$"), "POST"),
    (re.compile(r"^/api/v1/images/(?!standard_upload$)[^/]+$"), "GET"),
    (_INGEST, "PUT"),
    # Uploadcare's Upload API, under /uploadcare/ and at the root of its upload host.
    (re.compile(r"^/(?:uploadcare/)?base/$"), "POST"),
    (re.compile(r"^/(?:uploadcare/)?info/$"), "GET"),
    # ImageKit's client-side upload (@imagekit/javascript).
    (re.compile(r"^/imagekit/api/v[12]/files/upload$"), "POST"),
]


class OriginNotAllowedError(ResourceNotAuthorizedError):
    """Kept under the documented ResourceNotAuthorizedError type; the sentence says why."""


def client_origin_check(request) -> None:
    """``origin_check`` for a DRF view of the Resource API (the credential is request.auth)."""
    origin_check(request, request.auth)


def origin_check(request, access) -> None:
    """Refuse a Client-Key browser call from an origin its environment does not list.

    Called first thing in the views Client Keys may use. Requests without an Origin
    header (servers, mobile apps), from Imgwire's own origin, and with other credentials
    are not subject to it.
    """
    origin = request.headers.get("Origin")
    if origin is None or not access.is_client_key or _same_origin(request, origin):
        return
    patterns = CorsOrigin.objects.for_environment(access.environment).patterns()
    if patterns and not origin_allowed(origin, patterns):
        raise OriginNotAllowedError(
            f"Origin {origin[:200]} is not among this environment's CORS origins; "
            "add a matching pattern with POST /api/v1/cors_origins/ (Server Key or admin)."
        )
    setattr(getattr(request, "_request", request), _ALLOWED_ATTRIBUTE, True)


def _same_origin(request, origin: str) -> bool:
    """A page of Imgwire's own (the dashboard's uploader) is not a cross-origin caller:
    browsers send Origin on same-origin POSTs too, but the environment's CORS list is about
    which other sites may use its keys. Only Imgwire serves pages on its own origin."""
    own = parse_origin(f"{request.scheme}://{request.get_host()}")
    return own is not None and parse_origin(origin) == own


def _is_preflight_for_browser_endpoint(request) -> bool:
    if request.method != "OPTIONS":
        return False
    requested = request.headers.get("Access-Control-Request-Method", "").upper()
    return any(
        path.match(request.path_info) and requested == method for path, method in _BROWSER_ENDPOINTS
    )


def cors_request_allowed(sender, request, **kwargs) -> bool:
    """django-cors-headers' check_request_enabled receiver (connected in DomainsConfig)."""
    if getattr(request, _ALLOWED_ATTRIBUTE, False):
        return True
    if request.method == "PUT" and _INGEST.match(request.path_info):
        return True
    return _is_preflight_for_browser_endpoint(request)
