"""CDN cache hits answered before Django's request handling (wraps the WSGI application).

A warm hit is a lookup, a stat and a sendfile; through Django's handler, URL resolver and
nine middleware it cost about twice what thumbor's result storage costs to answer, while
the same bytes from a bare WSGI app under the same gunicorn cost less. So a GET or HEAD of
``/cdn/{org}/{env}/{image}`` on the install's own host that needs no render (a cache hit
or a 304) is answered here by the delivery view's own code (``cached_response``) and the
response-header work of the middleware that would have touched it; everything else (a
render, any error, a custom-domain host, a host outside ALLOWED_HOSTS, a request that
SECURE_SSL_REDIRECT would redirect) goes to Django untouched. Django's request_started
and request_finished signals are sent as its handler sends them, so database connections
are opened, checked and closed the same way.
"""

from django.conf import settings
from django.core import signals
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.security import SecurityMiddleware

from domains.hostnames import could_be_custom_domain, request_host
from images.delivery.views import cached_response

PREFIX = "/cdn/"


def _never_called(request):
    raise AssertionError("the fast path only uses the middleware's response phase")


class CacheHitFastPath:
    def __init__(self, application):
        self.application = application
        # The response phases that would have run on a delivery response, in order
        # (MIDDLEWARE runs them in reverse); tests compare the headers with Django's.
        self.response_phases = [
            XFrameOptionsMiddleware(_never_called).process_response,
            CommonMiddleware(_never_called).process_response,
            SecurityMiddleware(_never_called).process_response,
        ]

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith(PREFIX) and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            signals.request_started.send(sender=self.__class__, environ=environ)
            try:
                response = self._cached(environ, path)
            except Exception:  # Django's handler meets it again and answers as it would
                response = None
            if response is not None:
                return self._send(response, environ, start_response)
            # Django's handler sends request_started again; its receivers are idempotent.
        return self.application(environ, start_response)

    def _cached(self, environ, path):
        request = WSGIRequest(environ)
        if could_be_custom_domain(request_host(request)):
            return None  # domains.hosts.CustomDomainMiddleware decides those
        try:
            request.get_host()  # checks ALLOWED_HOSTS
        except DisallowedHost:
            return None
        if settings.SECURE_SSL_REDIRECT and not request.is_secure():
            return None
        parts = path[len(PREFIX) :].split("/")
        if len(parts) != 3:
            return None
        response = cached_response(request, *parts)
        if response is None:
            return None
        for process_response in self.response_phases:
            response = process_response(request, response)
        return response

    @staticmethod
    def _send(response, environ, start_response):
        """As django.core.handlers.wsgi.WSGIHandler sends a response; closing it (the
        server does) sends request_finished."""
        status = f"{response.status_code} {response.reason_phrase}"
        start_response(status, list(response.items()))
        if getattr(response, "file_to_stream", None) is not None and environ.get(
            "wsgi.file_wrapper"
        ):
            response.file_to_stream.close = response.close
            return environ["wsgi.file_wrapper"](response.file_to_stream, response.block_size)
        return response
