"""CDN requests answered from the WSGI layer, before Django's middleware and URL resolving.

A warm hit is a lookup, a stat and a sendfile; through Django's handler, URL resolver and
nine middleware it cost about twice what thumbor's result storage costs to answer, while
the same bytes from a bare WSGI app under the same gunicorn cost less. None of those
middleware has anything to do on a CDN URL of the install's own host: no session, cookie,
CSRF token, message or CORS header is ever read or written there. So a GET or HEAD of
``/cdn/{org}/{env}/{image}`` on that host is answered here by the delivery view itself,
followed by the response phases of the middleware that add headers to every response
(X-Frame-Options, Common, Security; tests compare the result with Django's, byte for
byte). Django still gets: other paths and methods, custom-domain hosts (whose routing is
domains.hosts.CustomDomainMiddleware's), hosts outside ALLOWED_HOSTS (its 400), requests
that SECURE_SSL_REDIRECT would redirect, and any request the view fails on with an
exception (for its 500 handling). Django's request_started and request_finished signals
are sent as its handler sends them, so database connections are opened, checked and
closed the same way.
"""

import io

from django.conf import settings
from django.core import signals
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.common import CommonMiddleware
from django.middleware.security import SecurityMiddleware

from domains.hostnames import could_be_custom_domain, request_host
from images.delivery.views import (
    PATH_TRANSFORM_PREFIX,
    Prepared,
    StoredObjectResponse,
    finish,
    prepare,
)
from images.storage import open_object
from metrics.usage import record_delivery

PREFIX = "/cdn/"
# Cache hits up to this size are read whole when the server has no file wrapper.
IN_ONE_BLOCK_BYTES = 1024 * 1024


def _never_called(request):
    raise AssertionError("the fast path only uses the middleware's response phase")


class _Hit:
    """A cache hit's body for the WSGI server: the open object (gunicorn sendfiles it by its
    fileno); closing it sends request_finished, as closing a Django response does."""

    def __init__(self, body):
        self.body = body

    def read(self, size=-1):
        return self.body.read(size)

    def fileno(self):
        return self.body.fileno()

    def close(self):
        try:
            self.body.close()
        finally:
            signals.request_finished.send(sender=DeliveryFastPath)

    def __iter__(self):
        while chunk := self.body.read(StoredObjectResponse.block_size):
            yield chunk

    def in_one_block(self):
        """The whole body as a one-item list, closed already. For servers without a file
        wrapper (granian): a list goes out in one call where an iterator costs a call per
        block and one more to find its end; servers never close a list, so this does."""
        try:
            return [self.body.read()]
        finally:
            self.close()


class DeliveryFastPath:
    def __init__(self, application):
        self.application = application
        self._hit_headers = {}  # is_secure -> the headers the response phases add to a hit
        # The response phases that run on a delivery response, in their order (the reverse
        # of MIDDLEWARE's).
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
                response = self._deliver(environ, path)
            except Exception:  # Django's handler meets it again and answers as it would
                response = None
            if isinstance(response, tuple):  # a cache hit
                headers, body, size = response
                start_response("200 OK", headers)
                if "wsgi.file_wrapper" in environ:
                    return environ["wsgi.file_wrapper"](body, StoredObjectResponse.block_size)
                return body.in_one_block() if size <= IN_ONE_BLOCK_BYTES else body
            if response is not None:
                return self._send(response, environ, start_response)
            # Django's handler sends request_started again; its receivers are idempotent.
        return self.application(environ, start_response)

    def _deliver(self, environ, path):
        request = WSGIRequest(environ)
        if could_be_custom_domain(request_host(request)):
            return None
        try:
            request.get_host()  # checks ALLOWED_HOSTS
        except DisallowedHost:
            return None
        if settings.SECURE_SSL_REDIRECT and not request.is_secure():
            return None
        parts = path[len(PREFIX) :].split("/")
        if len(parts) == 4 and parts[2].startswith(PATH_TRANSFORM_PREFIX):
            # ImageKit's path form: {org}/{env}/tr:…/{image}
            parts = [parts[0], parts[1], parts[3], parts[2].removeprefix(PATH_TRANSFORM_PREFIX)]
        elif len(parts) != 3:
            return None  # Django's 404
        response = prepare(request, *parts)
        if isinstance(response, Prepared):
            if request.method != "GET":
                response = finish(request, response)
            elif (opened := open_object(response.plan.key)) is not None:
                return self._hit(request, response, *opened)
            else:
                response = finish(request, response, known_missing=True)
        return self._with_response_phases(request, response)

    def _with_response_phases(self, request, response):
        for process_response in self.response_phases:
            response = process_response(request, response)
        return response

    def _hit(self, request, prepared, body, size):
        """A GET cache hit as (headers, body, size), without Django's response objects: the
        headers a StoredObjectResponse would carry after the response phases (which depend
        only on settings and whether the request is secure, so they are worked out once)."""
        secure = request.is_secure()
        if secure not in self._hit_headers:
            own = {**prepared.headers, "Content-Length": "0", "Content-Type": "image/jpeg"}
            own.pop("Vary", None)
            probe = StoredObjectResponse(io.BytesIO(), headers=own)
            probe = self._with_response_phases(request, probe)
            self._hit_headers[secure] = [
                (name, value) for name, value in probe.items() if name not in own
            ]
        record_delivery(
            prepared.image.environment_id, bytes_sent=size, cache_hit=True, rendered=False
        )
        headers = [
            *prepared.headers.items(),
            ("Content-Length", str(size)),
            ("Content-Type", prepared.plan.content_type),
            *self._hit_headers[secure],
        ]
        return headers, _Hit(body), size

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
