"""CDN cache hits answered before Django (images/delivery/fastpath.py), through WSGI."""

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.test import RequestFactory

from images.delivery.fastpath import CacheHitFastPath
from tests.delivery.test_delivery_view import CHROME, get, path_of, photo

__all__ = ["photo"]  # the fixture, shared with test_delivery_view.py

pytestmark = pytest.mark.django_db(transaction=True)


class Django:
    """Django's own WSGI handler, counting the requests that reach it."""

    def __init__(self):
        self.handler = WSGIHandler()
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.handler(environ, start_response)


def call(application, path: str, method: str = "GET", **headers):
    environ = RequestFactory().generic(method, path, **headers).environ
    captured = {}

    def start_response(status, response_headers, exc_info=None):
        captured["status"] = status
        captured["headers"] = dict(response_headers)

    result = application(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    return captured["status"], captured["headers"], body


@pytest.fixture
def django_app():
    return Django()


@pytest.fixture
def fast(django_app):
    return CacheHitFastPath(django_app)


@pytest.fixture
def cdn_path(photo):
    return path_of(photo["cdn_url"])


@pytest.mark.parametrize(
    ("query", "method", "headers"),
    [
        ("?width=64", "GET", {}),
        ("?width=64", "HEAD", {}),
        ("", "GET", {}),  # the metadata-free original
        ("?width=64&format=auto", "GET", {"HTTP_ACCEPT": CHROME}),  # negotiated: Vary
    ],
    ids=["variant", "head", "original", "negotiated"],
)
def test_a_cache_hit_skips_django_and_is_answered_exactly_as_django_answers_it(
    fast, django_app, cdn_path, query, method, headers
):
    url = cdn_path + query
    assert get(url, **headers).status_code == 200  # renders into the cache
    answered = call(fast, url, method, **headers)
    assert django_app.calls == 0
    assert answered == call(django_app.handler, url, method, **headers)
    assert answered[0] == "200 OK"


def test_a_matching_if_none_match_is_a_304_without_django(fast, django_app, cdn_path):
    url = cdn_path + "?width=64"
    etag = get(url)["ETag"]
    answered = call(fast, url, HTTP_IF_NONE_MATCH=etag)
    assert django_app.calls == 0
    assert answered[0] == "304 Not Modified"
    assert answered == call(django_app.handler, url, HTTP_IF_NONE_MATCH=etag)


@pytest.mark.parametrize(
    ("query", "method", "headers"),
    [
        ("?width=65", "GET", {}),  # not cached yet: Django renders it
        ("?width=0", "GET", {}),
        ("?width=64", "POST", {}),
        ("?width=64", "GET", {"HTTP_HOST": "images.customer.example"}),
        ("?width=64", "GET", {"HTTP_HOST": "evil.invalid"}),
    ],
    ids=["miss", "bad-parameter", "post", "custom-domain-host", "other-host"],
)
def test_everything_but_a_hit_on_our_own_host_goes_to_django(
    fast, django_app, cdn_path, query, method, headers, settings
):
    settings.ALLOWED_HOSTS = ["testserver"]
    get(cdn_path + "?width=64")
    status = call(fast, cdn_path + query, method, **headers)[0]
    assert django_app.calls == 1
    assert status == call(django_app.handler, cdn_path + query, method, **headers)[0]


def test_a_deleted_image_is_a_404_from_django_at_once(fast, django_app, cdn_path, photo, owner):
    url = cdn_path + "?width=64"
    get(url)
    assert call(fast, url)[0] == "200 OK"
    assert owner.server.delete(f"/api/v1/images/{photo['id']}").status_code == 200
    assert call(fast, url)[0] == "404 Not Found"
    assert django_app.calls == 1


def test_unknown_images_and_malformed_paths_go_to_django(fast, django_app, cdn_path):
    organization, environment, _ = cdn_path.removeprefix("/cdn/").split("/")
    for path in (
        f"/cdn/{organization}/{environment}/00000000-0000-0000-0000-000000000000",
        f"/cdn/{organization}/{environment}/not-a-uuid",
        f"/cdn/{organization}/{environment}",
        f"/cdn/{organization}/{environment}/x/y",
    ):
        assert call(fast, path)[0] == "404 Not Found"
    assert django_app.calls == 4
