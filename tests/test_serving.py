"""imgwire_site.serving: the environ Django gets is the same whichever server copies what."""

from imgwire_site.serving import ReadsLeftoverBody, WithoutProcessEnvironment

PROCESS = {
    "PATH": "/usr/bin",
    "DATABASE_URL": "postgres://imgwire:secret@db/imgwire",
    "HTTP_PROXY": "http://proxy.internal:3128",
    "HTTP_IF_NONE_MATCH": "*",
    "SERVER_NAME": "build-host",
}


def seen_by_app(environ, process=PROCESS):
    received = {}

    def app(environ, start_response):
        received.update(environ)
        return []

    WithoutProcessEnvironment(app, process)(environ, None)
    return received


def request_environ(**extra):
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/cdn/a/b/c",
        "SERVER_NAME": "127.0.0.1",
        "wsgi.url_scheme": "http",
        **extra,
    }


def test_variables_a_server_copied_from_the_process_environment_are_removed():
    environ = {**PROCESS, **request_environ()}
    received = seen_by_app(environ)
    assert "DATABASE_URL" not in received
    assert "HTTP_PROXY" not in received
    assert "HTTP_IF_NONE_MATCH" not in received
    assert "PATH" not in received


def test_what_the_request_itself_set_is_kept_even_under_a_process_variable_of_that_name():
    environ = {**PROCESS, **request_environ(HTTP_IF_NONE_MATCH='"abc"')}
    received = seen_by_app(environ)
    assert received["HTTP_IF_NONE_MATCH"] == '"abc"'
    assert received["SERVER_NAME"] == "127.0.0.1"
    assert received["REQUEST_METHOD"] == "GET"


def test_server_set_names_are_never_removed_even_with_the_process_value():
    environ = {**PROCESS, **request_environ(SERVER_NAME="build-host")}
    assert seen_by_app(environ)["SERVER_NAME"] == "build-host"


def test_an_environ_from_a_server_that_copies_nothing_reaches_the_app_untouched():
    environ = request_environ(HTTP_IF_NONE_MATCH="*")
    assert seen_by_app(environ) == environ


class Stream:
    def __init__(self, data: bytes):
        self.data, self.position = data, 0

    def read(self, size=-1):
        end = len(self.data) if size < 0 else min(len(self.data), self.position + size)
        chunk, self.position = self.data[self.position : end], end
        return chunk


def answered_without_reading(environ):
    def app(environ, start_response):
        return [b"401"]

    return ReadsLeftoverBody(app, limit=1000)(environ, None)


def test_a_small_body_the_view_left_unread_is_read_to_its_end_before_the_answer():
    stream = Stream(b"x" * 900)
    answer = answered_without_reading(
        request_environ(CONTENT_LENGTH="900", **{"wsgi.input": stream})
    )
    assert answer == [b"401"]
    assert stream.position == 900


def test_a_body_over_the_limit_or_of_unreadable_length_is_left_to_the_server():
    big = Stream(b"x" * 5000)
    answered_without_reading(request_environ(CONTENT_LENGTH="5000", **{"wsgi.input": big}))
    odd = Stream(b"x" * 10)
    answered_without_reading(request_environ(CONTENT_LENGTH="ten", **{"wsgi.input": odd}))
    assert big.position == 0
    assert odd.position == 0


def test_a_body_the_view_read_is_not_read_again_and_bodiless_requests_cost_nothing():
    stream = Stream(b"x" * 100)

    def reading_app(environ, start_response):
        environ["wsgi.input"].read(100)
        return []

    ReadsLeftoverBody(reading_app)(
        request_environ(CONTENT_LENGTH="100", **{"wsgi.input": stream}), None
    )
    assert stream.position == 100
    untouched = Stream(b"x" * 10)
    answered_without_reading(request_environ(**{"wsgi.input": untouched}))
    assert untouched.position == 0
