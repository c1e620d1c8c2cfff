"""CDN requests answered before Django (images/delivery/fastpath.py), through WSGI."""

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.test import RequestFactory

from images.delivery.fastpath import DeliveryFastPath
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


def call(application, path: str, method: str = "GET", secure=False, **headers):
    environ = RequestFactory().generic(method, path, secure=secure, **headers).environ
    captured = {}

    def start_response(status, response_headers, exc_info=None):
        captured["status"] = status
        captured["headers"] = sorted(response_headers)  # a repeated header would show

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
    return DeliveryFastPath(django_app)


@pytest.fixture
def cdn_path(photo):
    return path_of(photo["cdn_url"])


def cached(url, **headers):
    assert get(url, **headers).status_code == 200


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
    cached(url, **headers)
    answered = call(fast, url, method, **headers)
    assert django_app.calls == 0
    assert answered[0] == "200 OK"
    assert answered == call(django_app.handler, url, method, **headers)


def test_a_hit_over_https_carries_what_the_security_middleware_adds(cdn_path, settings):
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    url = cdn_path + "?width=64"
    cached(url)
    django_app = Django()  # built after the settings change, as a server would be
    fast = DeliveryFastPath(django_app)
    for secure in (True, False, True):
        answered = call(fast, url, secure=secure)
        assert answered == call(django_app.handler, url, secure=secure)
        hsts = dict(answered[1]).get("Strict-Transport-Security")
        assert hsts == ("max-age=3600; includeSubDomains" if secure else None)
    assert django_app.calls == 0


def test_a_matching_if_none_match_is_a_304_without_django(fast, django_app, cdn_path):
    url = cdn_path + "?width=64"
    etag = get(url)["ETag"]
    answered = call(fast, url, HTTP_IF_NONE_MATCH=etag)
    assert django_app.calls == 0
    assert answered[0] == "304 Not Modified"
    assert answered == call(django_app.handler, url, HTTP_IF_NONE_MATCH=etag)


def test_a_render_skips_django_and_its_answer_is_the_one_django_then_serves(
    fast, django_app, cdn_path
):
    url = cdn_path + "?width=65"
    rendered = call(fast, url)
    assert django_app.calls == 0
    assert rendered[0] == "200 OK"
    assert rendered == call(django_app.handler, url)


@pytest.mark.parametrize(
    "query",
    ["?width=0", "?width=64&w=65", "?" + "a" * 9000, "?format=bmp"],
    ids=["out-of-range", "duplicate", "too-long", "unknown-format"],
)
def test_errors_skip_django_and_match_its_answers(fast, django_app, cdn_path, query):
    answered = call(fast, cdn_path + query)
    assert django_app.calls == 0
    assert answered[0].startswith("4")
    assert answered == call(django_app.handler, cdn_path + query)


def test_unknown_and_deleted_images_are_404s_at_once(fast, django_app, cdn_path, photo, owner):
    organization, environment, _ = cdn_path.removeprefix("/cdn/").split("/")
    url = cdn_path + "?width=64"
    cached(url)
    assert owner.server.delete(f"/api/v1/images/{photo['id']}").status_code == 200
    for path in (
        url,
        f"/cdn/{organization}/{environment}/00000000-0000-0000-0000-000000000000",
        f"/cdn/{organization}/{environment}/not-a-uuid",
    ):
        answered = call(fast, path)
        assert answered[0] == "404 Not Found"
        assert answered == call(django_app.handler, path)
    assert django_app.calls == 0


@pytest.mark.parametrize(
    ("path_suffix", "method", "headers"),
    [
        ("?width=64", "POST", {}),
        ("?width=64", "GET", {"HTTP_HOST": "images.customer.example"}),
        ("?width=64", "GET", {"HTTP_HOST": "evil.invalid"}),
        ("/extra", "GET", {}),
    ],
    ids=["post", "custom-domain-host", "host-not-allowed", "malformed-path"],
)
def test_what_django_decides_goes_to_django(
    fast, django_app, cdn_path, path_suffix, method, headers, settings
):
    settings.ALLOWED_HOSTS = ["testserver"]
    url = cdn_path + path_suffix
    answered = call(fast, url, method, **headers)
    assert django_app.calls == 1
    assert answered[0] == call(django_app.handler, url, method, **headers)[0]


class FileWrapper:
    """A server's wsgi.file_wrapper (gunicorn's sendfiles the object by its fileno)."""

    def __init__(self, filelike, block_size):
        self.filelike = filelike
        self.fileno = filelike.fileno()

    def __iter__(self):
        return iter(lambda: self.filelike.read(8192), b"")

    def close(self):
        self.filelike.close()


@pytest.mark.parametrize("how", ["file wrapper", "one block", "blocks"])
def test_a_hit_sends_the_same_bytes_and_one_request_finished_however_the_server_takes_it(
    fast, django_app, cdn_path, how, monkeypatch
):
    from django.core import signals

    from images.delivery import fastpath

    url = cdn_path + "?width=64"
    cached(url)
    expected = call(django_app.handler, url)
    finished = []

    def count(**kwargs):
        finished.append(kwargs)

    environ = RequestFactory().get(url).environ
    if how == "file wrapper":
        environ["wsgi.file_wrapper"] = FileWrapper
    if how == "blocks":
        monkeypatch.setattr(fastpath, "IN_ONE_BLOCK_BYTES", 0)
    signals.request_finished.connect(count)
    try:
        result = fast(environ, lambda status, headers, exc_info=None: None)
        kind = type(result)
        body = b"".join(result)
        if hasattr(result, "close"):
            result.close()
    finally:
        signals.request_finished.disconnect(count)
    assert body == expected[2]
    assert len(finished) == 1
    assert kind is {"file wrapper": FileWrapper, "one block": list, "blocks": fastpath._Hit}[how]
    assert django_app.calls == 0
