"""The edge check of the text a request brings outside its body (imgwire_site/api/text.py).

A middleware rather than a DRF hook because the text is read before any view runs: the
session middleware looks up the Cookie's session id, DRF's authentication the
Authorization header's key, the sign-in view the posted username.
"""

import json

from django.core.exceptions import BadRequest
from django.http import JsonResponse
from django.http.response import HttpResponseRedirectBase
from django.middleware import common
from django.utils.http import escape_leading_slashes
from django.views import defaults

from imgwire_site.api.text import (
    basic_credentials_problems,
    form_problems,
    header_problems,
    problem_sentence,
    query_problems,
)


def _raw_query(meta) -> bytes:
    query = meta.get("QUERY_STRING", "")
    try:
        return query.encode("latin-1")  # WSGI: the raw bytes, one character each
    except UnicodeEncodeError:
        return query.encode("utf-8")  # ASGI: Django has already decoded it as UTF-8


# The Resource API answers 422 in its validation shape; the pages people post forms to
# answer Django's 400 page; the authorization server answers OAuth's error shape.
API_PATH_PREFIX = "/api/"
FORM_PATH_PREFIXES = ("/dashboard/", "/accounts/", "/admin/")
OAUTH_PATH_PREFIX = "/oauth/"


class RequestTextMiddleware:
    """Under /api/, the form pages and /oauth/ only. The other machine paths parse what they
    take against their own grammar (signatures, UUIDs, transformation parameters, host
    names) and answer in their own shapes; /uploadcare/ keeps its vendor's error shape and
    its own multipart limits, so its body must reach it untouched."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        api, oauth = path.startswith(API_PATH_PREFIX), path.startswith(OAUTH_PATH_PREFIX)
        if not api and not oauth and not path.startswith(FORM_PATH_PREFIXES):
            return self.get_response(request)
        problems = header_problems(request.META) + query_problems(_raw_query(request.META))
        if not problems and not api and request.method == "POST":
            # CsrfViewMiddleware reads this body anyway, the sign-in view looks its username
            # up before any form runs, and the token endpoint its client_id and code.
            # (JSON bodies are the parser's, or the registration view's.)
            problems = form_problems(request.POST)
        if not problems and oauth:
            problems = basic_credentials_problems(request.META)
        if not problems:
            return self.get_response(request)
        if api:
            return JsonResponse({"detail": problems}, status=422)
        if oauth:  # RFC 6749 §5.2
            return JsonResponse(
                {"error": "invalid_request", "error_description": problem_sentence(problems[0])},
                status=400,
            )
        return defaults.bad_request(request, BadRequest(problems[0]["msg"]))


class CommonMiddleware(common.CommonMiddleware):
    """Django's, except that a Resource API path missing its trailing slash answers 308
    with the API's error shape instead of an empty 301 page: 308 keeps the method and the
    body (clients may turn a POST that meets a 301 into a GET), and the body says where
    the endpoint is. Elsewhere (the dashboard, the admin) Django's 301 stands."""

    def process_response(self, request, response):
        if (
            response.status_code == 404
            and request.path_info.startswith(API_PATH_PREFIX)
            and self.should_redirect_with_slash(request)
        ):
            # Not get_full_path_with_slash(): under DEBUG it raises for a POST.
            location = escape_leading_slashes(request.get_full_path(force_append_slash=True))
            body = {
                "detail": f"This endpoint is {request.path}/ (with a trailing slash).",
                "error_type": "ResourceNotFoundError",
            }
            return _PermanentRedirectKeepingMethod(
                location, content=json.dumps(body), content_type="application/json"
            )
        return super().process_response(request, response)


class _PermanentRedirectKeepingMethod(HttpResponseRedirectBase):
    status_code = 308
