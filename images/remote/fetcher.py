"""Download a URL chosen by a customer without letting it reach Imgwire's own network.

Every hop (the URL and each redirect) is parsed strictly, resolved exactly once, refused if
ANY address is non-public, and then connected to by address: there is no second DNS lookup an
attacker could answer differently (DNS rebinding). TLS is still verified against the host name.

Time is bounded by a clock, not per-call timeouts alone: every socket operation gets the time
left in the current phase (connect + headers, then the total deadline) as its timeout, so a
source dripping one byte at a time can't stretch a fetch past its deadline.

Framework-free (stdlib only, certifi if installed): the delivery watermark fetch reuses it.
"""

from __future__ import annotations

import functools
import http.client
import io
import posixpath
import re
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import quote, unquote, unquote_to_bytes, urljoin, urlsplit

from images.remote import addresses
from images.remote.addresses import PUBLIC_ONLY, IPAddress

try:
    import certifi
except ImportError:  # pragma: no cover - then the system trust store is used
    certifi = None

ERROR_TYPES = frozenset(
    {
        "BlockedAddressError",
        "UnsupportedSchemeError",
        "UnresolvableHostError",
        "SourceHTTPError",
        "TooManyRedirectsError",
        "TooLargeError",
        "TooSlowError",
        "NotAnImageError",
        "SourceConnectionError",
        "InvalidUrlError",
    }
)
USER_AGENT = "Imgwire-Fetcher/1.0"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
_PRINTABLE_ASCII = "".join(map(chr, range(0x21, 0x7F)))


class FetchError(Exception):
    """A fetch that failed for a reason the API reports as ``error_type`` with ``message``."""

    def __init__(self, error_type: str, message: str):
        if error_type not in ERROR_TYPES:
            raise ValueError(f"Unknown fetch error type {error_type!r}")
        super().__init__(message)
        self.error_type = error_type
        self.message = message


@dataclass
class FetchLimits:
    max_bytes: int = 100 * 1024 * 1024
    header_timeout: float = 10.0  # connect + response headers, per hop
    total_deadline: float = 30.0  # whole fetch incl. redirects and body
    max_redirects: int = 5
    allowed_networks: tuple = ()  # networks (or CIDR strings) exempt from the address policy
    ca_certs: str | None = None  # PEM bundle to trust instead of certifi (on-premise CAs, tests)


class _Expired(TimeoutError):
    """The current phase's time budget is spent."""


class _Clock:
    """Phase deadlines: connect + headers within header_timeout, everything within total."""

    def __init__(self, limits: FetchLimits):
        self.header_timeout = limits.header_timeout
        self.total_deadline = limits.total_deadline
        self._end = time.monotonic() + limits.total_deadline
        self._phase_end = self._end

    def start_hop(self) -> None:
        self._phase_end = min(time.monotonic() + self.header_timeout, self._end)

    def start_body(self) -> None:
        self._phase_end = self._end

    def total_expired(self) -> bool:
        return time.monotonic() >= self._end

    def timeout(self) -> float:
        """Timeout for the next socket operation; _Expired when the phase is over."""
        remaining = self._phase_end - time.monotonic()
        if remaining <= 0:
            raise _Expired
        # In the body phase header_timeout doubles as the idle limit between packets.
        return min(remaining, self.header_timeout)


class _ClockedReader(io.RawIOBase):
    def __init__(self, sock: socket.socket, clock: _Clock):
        self._sock = sock
        self._clock = clock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        # Set per call: CPython turns a socket timeout into a deadline for that one call (TLS
        # included), so no single read can outlive the phase.
        self._sock.settimeout(self._clock.timeout())
        try:
            return self._sock.recv_into(buffer)
        except ssl.SSLEOFError:
            # Plenty of servers close without TLS close_notify. Treat it like a TCP EOF; a
            # truncated body is still caught by the Content-Length check or by the decoder.
            return 0


class _ClockedSocket:
    """What http.client sees as its socket: clocked sends and reads, and no close."""

    def __init__(self, sock: socket.socket, clock: _Clock):
        self._sock = sock
        self._clock = clock

    def sendall(self, data: bytes) -> None:
        self._sock.settimeout(self._clock.timeout())
        self._sock.sendall(data)

    def makefile(self, *args, **kwargs) -> io.BufferedReader:
        return io.BufferedReader(_ClockedReader(self._sock, self._clock))

    def close(self) -> None:
        # http.client "closes" as soon as it sees Connection: close, before the body is read.
        # The real socket belongs to RemoteBody (or the error path), which closes it.
        pass


def _connect_socket(ip: IPAddress, port: int, timeout: float) -> socket.socket:
    """Connect to exactly this address (no name, so no lookup). Tests replace this function."""
    family = socket.AF_INET if ip.version == 4 else socket.AF_INET6
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect((str(ip), port))
    except BaseException:
        sock.close()
        raise
    return sock


@functools.lru_cache(maxsize=4)
def _tls_context(ca_certs: str | None) -> ssl.SSLContext:
    cafile = ca_certs or (certifi.where() if certifi is not None else None)
    context = ssl.create_default_context(cafile=cafile)  # verifies chain and host name
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_alpn_protocols(["http/1.1"])
    return context


class RemoteBody:
    """The response body of a successful fetch, read like a file and capped while streaming."""

    def __init__(self, *, target, response, sock, clock, limits, file_name):
        self.url: str = target.url
        content_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        self.content_type: str | None = content_type or None
        self.content_length: int | None = response.length  # None when chunked or absent
        self.file_name: str | None = file_name
        self._host = target.tls_name
        self._response = response
        self._sock = sock
        self._clock = clock
        self._max_bytes = limits.max_bytes
        self._buffer = bytearray()  # bytes peeked by open_remote, served first
        self._received = 0
        self._eof = False
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def read(self, size: int = -1) -> bytes:
        """Exactly ``size`` bytes unless the body ends first; everything when size < 0."""
        if self._closed:
            raise ValueError("read from a closed RemoteBody")
        limit = None if size is None or size < 0 else size
        out = bytearray()
        while limit is None or len(out) < limit:
            if self._buffer:
                take = len(self._buffer) if limit is None else limit - len(out)
                out += self._buffer[:take]
                del self._buffer[:take]
                continue
            data = self._fill(_CHUNK if limit is None else min(_CHUNK, limit - len(out)))
            if not data:
                break
            out += data
        return bytes(out)

    def _peek(self, size: int) -> bytes:
        while len(self._buffer) < size:
            data = self._fill(size - len(self._buffer))
            if not data:
                break
            self._buffer += data
        return bytes(self._buffer[:size])

    def _fill(self, want: int) -> bytes:
        if self._eof:
            return b""
        # Ask for at most one byte past the cap: enough to notice a body that is too big.
        amount = max(1, min(want, self._max_bytes + 1 - self._received))
        try:
            self._clock.timeout()  # the deadline also applies between reads (buffered data)
            data = self._response.read1(amount)
        except TimeoutError:
            if self._clock.total_expired():
                detail = (
                    f"did not finish within the {self._clock.total_deadline:g} s total deadline"
                )
            else:
                detail = f"sent no data for {self._clock.header_timeout:g} s"
            raise self._fail(
                "TooSlowError",
                f"The download from {self._host} {detail}; serve it from a faster host.",
            ) from None
        except (http.client.HTTPException, OSError) as error:
            raise self._fail(
                "SourceConnectionError",
                f"The connection to {self._host} failed while downloading ({_describe(error)}).",
            ) from None
        self._received += len(data)
        if not data:
            self._eof = True
            # http.client's read1 reports a connection closed early as a clean EOF.
            if self.content_length is not None and self._received < self.content_length:
                raise self._fail(
                    "SourceConnectionError",
                    f"{self._host} closed the connection "
                    f"after {self._received} of the {self.content_length} bytes "
                    "it announced.",
                )
        elif self._received > self._max_bytes:
            raise self._fail(
                "TooLargeError",
                f"The source sent more than the "
                f"{_size(self._max_bytes)} limit; Imgwire stopped reading.",
            )
        return data

    def _fail(self, error_type: str, message: str) -> FetchError:
        self.close()  # nothing more will be read; free the connection now
        return FetchError(error_type, message)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._response.close()
        self._sock.close()

    def __enter__(self) -> RemoteBody:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def open_remote(url: str, limits: FetchLimits, *, resolver=socket.getaddrinfo) -> RemoteBody:
    """Fetch ``url`` (following up to ``max_redirects`` redirects) and return its body.

    ``resolver`` is called like ``socket.getaddrinfo(host, port, family, type, proto, flags)``
    exactly once per hop. Raises FetchError.
    """
    clock = _Clock(limits)
    allowed = addresses.as_networks(limits.allowed_networks)
    current, redirects = url, 0
    while True:
        subject = "The URL" if redirects == 0 else f"The redirect target {current!r}"
        target, ips = _checked_hop(current, allowed, resolver, subject)
        sock, response = _request(target, ips, limits, clock)
        if response.status not in REDIRECT_STATUSES:
            break
        location = response.getheader("Location")
        response.close()
        sock.close()
        if not location:
            raise FetchError(
                "SourceHTTPError",
                f"The source answered {response.status} for {target.url} without a Location "
                "header; give Imgwire the final URL of the image.",
            )
        if redirects >= limits.max_redirects:
            raise FetchError(
                "TooManyRedirectsError",
                f"The source redirected more than {limits.max_redirects} times; "
                "give Imgwire the final URL of the image.",
            )
        redirects += 1
        # http.client decoded the header as Latin-1: percent-encode the original non-ASCII
        # bytes instead of letting quote() re-encode mojibake.
        location = quote(location.strip().encode("latin-1"), safe=_PRINTABLE_ASCII)
        current = urljoin(target.url, location)
    try:
        return _body(target, response, sock, clock, limits)
    except BaseException:
        response.close()
        sock.close()
        raise


def post(
    url: str,
    body: bytes,
    headers: dict,
    limits: FetchLimits,
    *,
    subject: str = "The URL",
    answer_bytes: int = 500,
    resolver=socket.getaddrinfo,
) -> tuple[int, bytes]:
    """POST ``body`` to ``url`` under a fetch's address policy and deadline, one hop only
    (a redirect is an answer like any other, never followed); returns the status and at
    most ``answer_bytes`` of the answer. Raises FetchError as ``open_remote`` does."""
    target, ips = _checked_hop(url, limits.allowed_networks, resolver, subject)
    sock, response = _request(
        target, ips, limits, _Clock(limits), method="POST", body=body, headers=headers
    )
    try:
        return response.status, response.read(answer_bytes)
    finally:
        sock.close()


def _body(target, response, sock, clock, limits) -> RemoteBody:
    if not 200 <= response.status < 300:
        reason = re.sub(r"[^\x20-\x7e]", "", response.reason or "").strip()[:80]
        status = f"{response.status} {reason}" if reason else str(response.status)
        raise FetchError(
            "SourceHTTPError",
            f"The source answered {status} for {target.url}; "
            "Imgwire needs a 2xx response carrying the image.",
        )
    encoding = (response.getheader("Content-Encoding") or "").strip().lower()
    if encoding not in ("", "identity"):
        # We asked for identity; decompressing would also make the size cap meaningless.
        raise FetchError(
            "NotAnImageError",
            f"The source sent a {encoding}-encoded body although Imgwire asked for "
            "identity encoding; serve the image without Content-Encoding.",
        )
    if response.length is not None and response.length > limits.max_bytes:
        raise FetchError(
            "TooLargeError",
            f"The source announces {_size(response.length)} (Content-Length), more than the "
            f"{_size(limits.max_bytes)} limit.",
        )
    disposition = response.getheader("Content-Disposition")
    file_name = _clean_file_name(_disposition_filename(disposition) if disposition else None)
    if file_name is None:
        file_name = _clean_file_name(unquote(posixpath.basename(urlsplit(target.url).path)))
    body = RemoteBody(
        target=target, response=response, sock=sock, clock=clock, limits=limits, file_name=file_name
    )
    # A web page (login wall, soft 404) is worth refusing early, but servers mislabel images
    # often enough that the first bytes get the last word.
    if _is_textual(body.content_type) and not _looks_like_image(body._peek(16)):
        raise FetchError(
            "NotAnImageError",
            f"The source answered with {body.content_type}, not an image; "
            "check that the URL points at the image itself rather than a web page.",
        )
    return body


def _checked_hop(url, allowed, resolver, subject) -> tuple[addresses.Target, list[IPAddress]]:
    try:
        target = addresses.parse_url(url)
        ips = addresses.resolve(target.host, target.port, resolver)
    except addresses.UrlError as error:
        raise FetchError(error.error_type, f"{subject} {error}.") from None
    except addresses.UnresolvableHost as error:
        raise FetchError(
            "UnresolvableHostError",
            f"The host {target.tls_name} could not be resolved ({error}); check the spelling "
            "and that the name exists in public DNS.",
        ) from None
    for ip in ips:  # one private answer among public ones is enough to refuse
        reason = addresses.is_blocked(ip, allowed)
        if reason:
            verb = "points at" if str(ip) == target.host else "resolves to"
            raise FetchError(
                "BlockedAddressError", f"{subject} {verb} {ip}, {reason}; {PUBLIC_ONLY}."
            )
    return target, ips


def _request(
    target, ips, limits, clock, *, method="GET", body=None, headers=None
) -> tuple[socket.socket, http.client.HTTPResponse]:
    clock.start_hop()
    sock = _connect(target, ips, clock)
    try:
        if target.scheme == "https":
            sock.settimeout(clock.timeout())  # one deadline for the whole handshake
            sock = _tls_context(limits.ca_certs).wrap_socket(sock, server_hostname=target.tls_name)
        connection = http.client.HTTPConnection(target.tls_name, target.port)
        connection.sock = _ClockedSocket(sock, clock)
        connection.request(
            method,
            target.request_target,
            body=body,
            headers={
                "Host": target.host_header,
                "User-Agent": USER_AGENT,
                "Accept": "image/*, */*;q=0.8",
                "Accept-Encoding": "identity",
                "Connection": "close",
                **(headers or {}),
            },
        )
        response = connection.getresponse()
        clock.start_body()
        return sock, response
    except BaseException as error:
        sock.close()
        if isinstance(error, Exception):
            raise _request_failure(target, clock, error) from None
        raise


def _request_failure(target, clock, error: Exception) -> Exception:
    host = target.tls_name
    if isinstance(error, TimeoutError):
        if clock.total_expired():
            detail = f"within the {clock.total_deadline:g} s total deadline"
        else:
            detail = f"within {clock.header_timeout:g} s"
        return FetchError(
            "TooSlowError",
            f"{host} did not send response headers {detail}; the source is too slow.",
        )
    if isinstance(error, ssl.SSLCertVerificationError):
        return FetchError(
            "SourceConnectionError",
            f"The TLS certificate of {host} could not be verified ({error.verify_message}); "
            "Imgwire only fetches HTTPS sources with a valid certificate.",
        )
    if isinstance(error, http.client.RemoteDisconnected):
        return FetchError(
            "SourceConnectionError", f"{host} closed the connection without answering."
        )
    if isinstance(error, http.client.HTTPException | OSError):
        return FetchError(
            "SourceConnectionError",
            f"The request to {host} failed ({_describe(error)}); check that the source speaks "
            f"{target.scheme.upper()} on port {target.port}.",
        )
    return error


def _connect(target, ips, clock) -> socket.socket:
    failure: OSError | None = None
    for ip in ips:  # in resolver order, like browsers; all of them passed the policy
        try:
            return _connect_socket(ip, target.port, clock.timeout())
        except _Expired:
            break
        except OSError as error:
            failure = error
    if failure is None or isinstance(failure, TimeoutError):
        detail = f"no answer within {clock.header_timeout:g} s"
    else:
        detail = _describe(failure)
    raise FetchError(
        "SourceConnectionError",
        f"Could not connect to {target.tls_name} on port {target.port} ({detail}); check that "
        "the source is reachable from the internet.",
    )


def _describe(error: BaseException) -> str:
    if isinstance(error, ssl.SSLError):
        return error.reason or str(error)
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def _size(n: int) -> str:
    for unit, factor in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= factor:
            return f"{n / factor:.3g} {unit}"
    return f"{n} bytes"


_DISPOSITION_PARAM = re.compile(
    r";\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(\"(?:[^\"\\]|\\.)*\"|[^;]*)"
)


def _disposition_filename(value: str) -> str | None:
    """filename* (RFC 5987/6266) wins over filename; email's parser gets both wrong here."""
    params: dict[str, str] = {}
    for key, raw in _DISPOSITION_PARAM.findall(value):
        raw = raw.strip()
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        params.setdefault(key.lower(), raw)
    if "filename*" in params:
        charset, _, rest = params["filename*"].partition("'")
        encoded = rest.partition("'")[2]
        try:
            return unquote_to_bytes(encoded).decode(charset or "utf-8")
        except (LookupError, UnicodeDecodeError):
            pass
    raw = params.get("filename")
    if raw is None:
        return None
    try:  # http.client decodes headers as Latin-1; servers mostly send UTF-8
        return raw.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return raw


def _clean_file_name(name: str | None) -> str | None:
    if not name:
        return None
    name = name.replace("\\", "/").rsplit("/", 1)[-1]  # never a path
    name = "".join(c for c in name if c.isprintable()).strip()
    if name in ("", ".", ".."):
        return None
    if len(name) > 255:
        stem, ext = posixpath.splitext(name)
        name = stem[: 255 - len(ext)] + ext if len(ext) <= 16 else name[:255]
    return name


def _is_textual(content_type: str | None) -> bool:
    if not content_type or content_type.startswith("image/"):
        return False
    return content_type.startswith("text/") or content_type.endswith(
        ("json", "xml", "javascript", "ecmascript")
    )


_IMAGE_MAGIC = (
    b"\xff\xd8\xff",  # JPEG
    b"\x89PNG\r\n\x1a\n",
    b"GIF87a",
    b"GIF89a",
    b"\xff\x0a",  # JPEG XL codestream
    b"\x00\x00\x00\x0cJXL ",  # JPEG XL container
    b"BM",
    b"II*\x00",  # TIFF
    b"MM\x00*",
    b"\x00\x00\x01\x00",  # ICO
)


def _looks_like_image(head: bytes) -> bool:
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    if head[4:8] == b"ftyp":  # AVIF, HEIC
        return True
    return head.startswith(_IMAGE_MAGIC)
