"""Uploadcare's API at the root of a dedicated upload host, as upload.uploadcare.com serves it.

Needed, not cosmetic: pyuploadcare builds its ``from_url/``, ``from_url/status/`` and
``group/`` URLs from the host root (``urljoin(upload_base, "/from_url")``) whatever path
its ``upload_base`` has. A request whose Host is IMGWIRE_UPLOADCARE_HOST is resolved against
``host_urls`` instead of the site's URLconf; on every other host nothing changes.
"""

from django.conf import settings

from domains.hostnames import request_host

HOST_URLCONF = "images.compat.uploadcare.host_urls"


class UploadHostMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        upload_host = settings.IMGWIRE_UPLOADCARE_HOST
        if upload_host and request_host(request) == upload_host:
            request.urlconf = HOST_URLCONF
        return self.get_response(request)
