"""What the WSGI entry point (imgwire_site.wsgi) puts around Django for the HTTP server.

The process environment. Granian, the recommended server (docs/deployment.md), starts
every request's WSGI environ from a copy of the process environment, as CGI did: a
variable the process was started with reaches Django as if the request had sent it.
``HTTP_PROXY`` would read as a ``Proxy:`` request header (the "httpoxy" class of bug),
``HTTP_IF_NONE_MATCH=*`` would turn every CDN answer into a 304, and settings such as
``DATABASE_URL`` would sit in every ``request.META`` that an error report prints.
Gunicorn copies nothing; WithoutProcessEnvironment makes both servers hand Django the same
environ.

Unread request bodies. When a view answers without reading the body (a 401 before the
JSON is parsed, a 404), granian may close the keep-alive connection as it sends the
answer, and a client that has already sent its next request on that connection sees it
dropped (measured: about 1 in 100 such POSTs); gunicorn reads past the leftover body
instead. So a leftover body of modest size is read to its end before the answer leaves.
"""

import os

# Set by the server from the request (or from WSGI itself) on every request: never the
# process's, even when the values happen to be equal.
REQUEST_KEYS = frozenset(
    {
        "REQUEST_METHOD",
        "SCRIPT_NAME",
        "PATH_INFO",
        "QUERY_STRING",
        "SERVER_NAME",
        "SERVER_PORT",
        "SERVER_PROTOCOL",
        "REMOTE_ADDR",
        "REMOTE_PORT",
        "GATEWAY_INTERFACE",
        "SERVER_SOFTWARE",
    }
)


class WithoutProcessEnvironment:
    """Removes from each request's environ what the server copied from the process
    environment: keys present with the process's own value. A request header whose value
    equals a same-named process variable is dropped too (HTTP_* variables in a process
    environment are themselves the hazard). Costs one lookup on servers that copy nothing."""

    def __init__(self, application, environment=None):
        self.application = application
        inherited = {
            name: value
            for name, value in dict(os.environ if environment is None else environment).items()
            if name not in REQUEST_KEYS and not name.startswith("wsgi.")
        }
        self.inherited = tuple(inherited.items())
        # A variable no request can set: if the environ lacks it, the server copied nothing.
        self.marker = next(
            ((n, v) for n, v in self.inherited if not n.startswith(("HTTP_", "CONTENT_"))),
            None,
        )

    def __call__(self, environ, start_response):
        if self.marker is not None and environ.get(self.marker[0]) == self.marker[1]:
            for name, value in self.inherited:
                if environ.get(name) == value:
                    del environ[name]
        return self.application(environ, start_response)


class ReadsLeftoverBody:
    """Reads to its end a request body of at most ``limit`` bytes (by Content-Length) that
    the application left unread, before the server sends the answer. Larger leftovers
    (a rejected 100 MiB PUT) are left to the server, which closes the connection."""

    block = 64 * 1024

    def __init__(self, application, limit: int = 1024 * 1024):
        self.application = application
        self.limit = limit

    def __call__(self, environ, start_response):
        result = self.application(environ, start_response)
        declared = environ.get("CONTENT_LENGTH")
        if declared and declared != "0":
            try:
                size = int(declared)
            except ValueError:
                return result
            if 0 < size <= self.limit:
                stream, left = environ["wsgi.input"], size
                while left > 0 and (chunk := stream.read(min(self.block, left))):
                    left -= len(chunk)
        return result
