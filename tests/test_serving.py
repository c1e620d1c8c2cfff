"""imgwire_site.serving: the environ Django gets is the same whichever server copies what."""

from imgwire_site.serving import WithoutProcessEnvironment

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
