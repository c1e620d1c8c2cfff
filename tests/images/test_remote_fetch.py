"""The URL fetcher behind upload_via_url: only public addresses, bounded in size and time.

Everything runs against a local source server on 127.0.0.1, which the tests allow explicitly
(``allowed_networks``) except where the point is that loopback is refused. Host names other
than literals are answered by an injected resolver, never by DNS.
"""

import ipaddress
import json
import socket
import time

import pytest

from images.remote import (
    FetchError,
    FetchLimits,
    fetcher,
    is_blocked,
    open_remote,
    parse_allowed_networks,
)
from images.remote.addresses import parse_legacy_ipv4
from tests import sourceserver
from tests.sourceserver import CAP, PNG, SourceServer

source_server = sourceserver.source_server

LOCAL = tuple(parse_allowed_networks("127.0.0.0/8"))


def local_limits(**overrides) -> FetchLimits:
    return FetchLimits(
        **{"allowed_networks": LOCAL, "header_timeout": 3, "total_deadline": 10, **overrides}
    )


def resolver_for(table: dict[str, list[str]], calls: list | None = None):
    """A getaddrinfo stand-in answering from ``table`` and recording every lookup."""

    def resolve(host, port, *args):
        if calls is not None:
            calls.append(host)
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in table[host]
        ]

    return resolve


def fetch_error(url, limits=None, **kwargs) -> FetchError:
    with (
        pytest.raises(FetchError) as caught,
        open_remote(url, limits or local_limits(), **kwargs) as body,
    ):
        body.read()
    return caught.value


@pytest.fixture
def no_connections(monkeypatch):
    """Refused fetches must be refused before any socket is opened."""

    def connect(ip, port, timeout):
        raise AssertionError(f"connected to {ip}:{port}")

    monkeypatch.setattr(fetcher, "_connect_socket", connect)


# --- fetching ----------------------------------------------------------------------------------


def test_an_image_is_fetched_with_its_type_length_and_name(source_server):
    with open_remote(source_server.url("/image.png"), local_limits()) as body:
        assert body.read() == PNG
        assert body.content_type == "image/png"
        assert body.content_length == len(PNG)
        assert body.file_name == "image.png"
        assert body.url == source_server.url("/image.png")


def test_read_returns_exactly_the_requested_size_until_the_body_ends(source_server):
    with open_remote(source_server.url("/image.png"), local_limits()) as body:
        assert body.read(8) == PNG[:8]
        assert body.read(0) == b""
        assert body.read(len(PNG)) == PNG[8:]
        assert body.read() == b""
    assert body.closed


def test_the_request_names_the_original_host_and_asks_for_an_uncompressed_body(source_server):
    resolver = resolver_for({"images.example": ["127.0.0.1"]})
    url = source_server.url("/echo", host="images.example")
    with open_remote(url, local_limits(), resolver=resolver) as body:
        headers = json.loads(body.read())
    assert headers["host"] == f"images.example:{source_server.port}"
    assert headers["user-agent"] == "Imgwire-Fetcher/1.0"
    assert headers["accept-encoding"] == "identity"


def test_the_fetch_connects_to_the_checked_address_without_looking_the_name_up_again(
    source_server, monkeypatch
):
    # A rebinding resolver: public for the check, loopback for anyone who asks again.
    answers = iter(["93.184.216.34", "127.0.0.1"])
    calls, connected = [], []

    def resolver(host, port, *args):
        calls.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    def connect(ip, port, timeout):
        connected.append((str(ip), port))  # then reach the local stand-in for that address
        return socket.create_connection(("127.0.0.1", source_server.port), timeout)

    monkeypatch.setattr(fetcher, "_connect_socket", connect)
    url = source_server.url("/echo", host="images.example")
    with open_remote(url, FetchLimits(), resolver=resolver) as body:
        headers = json.loads(body.read())
    assert calls == ["images.example"]
    assert connected == [("93.184.216.34", source_server.port)]
    assert headers["host"] == f"images.example:{source_server.port}"


def test_a_redirect_chain_within_the_limit_is_followed_to_the_image(source_server):
    with open_remote(source_server.url("/redirect/5"), local_limits()) as body:
        assert body.read() == PNG
        assert body.url == source_server.url("/image.png")


def test_every_redirect_hop_resolves_the_host_once_and_only_once(source_server):
    calls = []
    resolver = resolver_for({"images.example": ["127.0.0.1"]}, calls)
    url = source_server.url("/redirect/2", host="images.example")
    with open_remote(url, local_limits(), resolver=resolver) as body:
        assert body.read() == PNG
    # /redirect/2 → /redirect/1 → /image.png, all relative, all on images.example.
    assert calls == ["images.example"] * 3


def test_a_relative_redirect_is_resolved_against_the_current_url(source_server):
    with open_remote(source_server.url("/nested/relative"), local_limits()) as body:
        assert body.url == source_server.url("/image.png")


@pytest.mark.parametrize("path", ["/redirect/6", "/loop"])
def test_the_sixth_redirect_is_refused(source_server, path):
    error = fetch_error(source_server.url(path))
    assert error.error_type == "TooManyRedirectsError"
    assert "more than 5 times" in error.message


def test_a_redirect_to_a_private_address_is_refused(source_server):
    error = fetch_error(source_server.url("/to-private-ip"))
    assert error.error_type == "BlockedAddressError"
    assert "redirect" in error.message
    assert "10.0.0.1, a private address" in error.message


def test_a_redirect_to_a_public_looking_name_that_resolves_privately_is_refused(source_server):
    resolver = resolver_for({"internal.example": ["10.0.0.1"]})
    error = fetch_error(source_server.url("/to-internal-name"), resolver=resolver)
    assert error.error_type == "BlockedAddressError"


@pytest.mark.parametrize(
    ("path", "error_type"),
    [
        ("/to-ftp", "UnsupportedSchemeError"),
        ("/to-credentials", "InvalidUrlError"),
        ("/no-location", "SourceHTTPError"),
    ],
)
def test_a_redirect_to_something_unfetchable_is_refused(source_server, path, error_type):
    assert fetch_error(source_server.url(path)).error_type == error_type


@pytest.mark.parametrize(("path", "status"), [("/missing", "404"), ("/server-error", "503")])
def test_an_error_status_from_the_source_is_reported_with_the_status(source_server, path, status):
    error = fetch_error(source_server.url(path))
    assert error.error_type == "SourceHTTPError"
    assert f"answered {status}" in error.message


def test_a_connection_refused_by_the_source_is_a_connection_error():
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    error = fetch_error(f"http://127.0.0.1:{port}/image.png")
    assert error.error_type == "SourceConnectionError"


# --- size -------------------------------------------------------------------------------------


def test_a_body_over_the_cap_with_an_honest_length_is_refused_before_reading(source_server):
    with pytest.raises(FetchError) as caught:
        open_remote(source_server.url("/too-large-honest"), local_limits(max_bytes=CAP))
    assert caught.value.error_type == "TooLargeError"
    assert "Content-Length" in caught.value.message


@pytest.mark.parametrize("path", ["/streamed-too-large", "/chunked-too-large"])
def test_a_body_without_a_length_stops_once_it_passes_the_cap(source_server, path):
    with open_remote(source_server.url(path), local_limits(max_bytes=CAP)) as body:
        assert body.content_length is None
        assert len(body.read(CAP)) == CAP  # up to the cap is fine
        with pytest.raises(FetchError) as caught:
            body.read(1)
    assert caught.value.error_type == "TooLargeError"


def test_a_body_of_exactly_the_cap_is_accepted(source_server):
    with open_remote(source_server.url("/exactly-cap"), local_limits(max_bytes=CAP)) as body:
        assert len(body.read()) == CAP


def test_a_length_smaller_than_the_body_yields_only_the_announced_bytes(source_server):
    with open_remote(source_server.url("/lying-small-length"), local_limits()) as body:
        assert body.read() == PNG[:10]


def test_a_body_shorter_than_its_length_is_a_connection_error(source_server):
    error = fetch_error(source_server.url("/lying-large-length"))
    assert error.error_type == "SourceConnectionError"
    assert "100 of the 5000 bytes" in error.message


# --- time -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/stalled-headers", "/dripped-headers"])
def test_a_source_slow_to_send_headers_stops_at_the_header_timeout(source_server, path):
    started = time.monotonic()
    error = fetch_error(source_server.url(path), local_limits(header_timeout=0.5))
    assert error.error_type == "TooSlowError"
    assert 0.4 < time.monotonic() - started < 2.5


@pytest.mark.parametrize("path", ["/stalled-body", "/dripped-body"])
def test_a_slow_body_stops_at_the_total_deadline(source_server, path):
    started = time.monotonic()
    limits = local_limits(header_timeout=5, total_deadline=1)
    with open_remote(source_server.url(path), limits) as body, pytest.raises(FetchError) as caught:
        body.read()
    assert caught.value.error_type == "TooSlowError"
    assert "1 s total deadline" in caught.value.message
    assert 0.9 < time.monotonic() - started < 3


# --- content ----------------------------------------------------------------------------------


def test_a_web_page_is_not_an_image(source_server):
    error = fetch_error(source_server.url("/page.html"))
    assert error.error_type == "NotAnImageError"
    assert "text/html" in error.message


def test_an_image_mislabelled_as_text_is_still_fetched_whole(source_server):
    with open_remote(source_server.url("/png-labelled-text"), local_limits()) as body:
        assert body.read() == PNG


def test_a_compressed_body_is_refused_rather_than_decompressed(source_server):
    error = fetch_error(source_server.url("/gzip"))
    assert error.error_type == "NotAnImageError"
    assert "gzip" in error.message


@pytest.mark.parametrize(
    ("path", "file_name"),
    [
        ("/attachment", "holiday.png"),
        ("/attachment-utf8", "für dich.png"),
        ("/attachment-path", "passwd"),
        ("/photos/summer%20day.png", "summer day.png"),
        ("/image.png?size=large#top", "image.png"),
    ],
)
def test_the_file_name_comes_from_content_disposition_or_the_url(source_server, path, file_name):
    with open_remote(source_server.url(path), local_limits()) as body:
        assert body.file_name == file_name


# --- TLS --------------------------------------------------------------------------------------


@pytest.fixture
def tls_server(tmp_path):
    pki = sourceserver.make_test_pki(tmp_path, "images.test")
    server = SourceServer(sourceserver.tls_context_for(pki["cert"], pki["key"])).start()
    yield server, pki["ca"]
    server.stop()


def test_https_verifies_the_certificate_against_the_host_name_not_the_address(tls_server):
    server, ca = tls_server
    resolver = resolver_for({"images.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    limits = local_limits(ca_certs=ca)
    with open_remote(server.url("/image.png", "images.test"), limits, resolver=resolver) as body:
        assert body.read() == PNG
    error = fetch_error(server.url("/image.png", "other.test"), limits, resolver=resolver)
    assert error.error_type == "SourceConnectionError"
    assert "certificate" in error.message


def test_https_refuses_a_certificate_from_an_unknown_authority(tls_server):
    server, _ = tls_server
    resolver = resolver_for({"images.test": ["127.0.0.1"]})
    error = fetch_error(server.url("/image.png", "images.test"), resolver=resolver)
    assert error.error_type == "SourceConnectionError"
    assert "certificate" in error.message


# --- refused before connecting ----------------------------------------------------------------

BLOCKED_HOSTS = [
    "127.0.0.1",
    "localhost",
    "LOCALHOST.",
    "api.localhost",
    "2130706433",
    "0177.0.0.1",
    "0x7f.1",
    "0x7f000001",
    "127.1",
    "127.0.0.1.",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[::127.0.0.1]",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "169.254.169.254",
    "100.100.100.200",
    "[fd00:ec2::254]",
    "0.0.0.0",
    "0",
    "[::]",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "198.18.0.1",
    "192.0.2.1",
    "[fe80::1]",
    "[fc00::1]",
    "[64:ff9b::7f00:1]",
    "[2002:7f00:1::]",
    "[2001:0:4136:e378:8000:63bf:3fff:fdd2]",
]


@pytest.mark.parametrize("host", BLOCKED_HOSTS)
def test_a_non_public_address_is_refused_in_every_spelling(host, no_connections):
    error = fetch_error(f"http://{host}/image.png", FetchLimits())
    assert error.error_type == "BlockedAddressError"
    assert error.message.endswith("Imgwire only fetches public addresses.")


@pytest.mark.parametrize(
    "answers",
    [
        ["10.0.0.1"],
        ["169.254.169.254"],
        ["fd12:3456::1"],
        ["93.184.216.34", "10.0.0.1"],
        ["2606:2800:220:1::1", "::1"],
    ],
)
def test_a_name_is_refused_if_any_of_its_addresses_is_not_public(answers, no_connections):
    resolver = resolver_for({"evil.test": answers})
    error = fetch_error("http://evil.test/image.png", FetchLimits(), resolver=resolver)
    assert error.error_type == "BlockedAddressError"


def test_the_refusal_names_the_address_and_the_reason(no_connections):
    resolver = resolver_for({"evil.test": ["10.0.0.5"]})
    error = fetch_error("http://evil.test/", FetchLimits(), resolver=resolver)
    assert error.message == (
        "The URL resolves to 10.0.0.5, a private address; Imgwire only fetches public addresses."
    )


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a.png", "file:///etc/passwd", "gopher://example.com/", "data:,x"]
)
def test_schemes_other_than_http_and_https_are_refused(url, no_connections):
    assert fetch_error(url, FetchLimits()).error_type == "UnsupportedSchemeError"


@pytest.mark.parametrize(
    "url",
    [
        "http://user:pass@example.com/a.png",
        "http://user@example.com/a.png",
        "http://@example.com/a.png",
        "http://example.com\\@127.0.0.1/a.png",
        "example.com/a.png",
        "http:///a.png",
        "http://exa mple.com/a.png",
        "http://example.com/a\n.png",
        "http://example.com:99999/a.png",
        "http://1.2.3.4.5/a.png",
        "http://foo.127/a.png",
        "http://0x7g.1/a.png",
        "http://[fe80::1%25eth0]/a.png",
    ],
)
def test_malformed_urls_and_urls_with_credentials_are_refused(url, no_connections):
    assert fetch_error(url, FetchLimits()).error_type == "InvalidUrlError"


@pytest.mark.parametrize("answers", [None, []])
def test_a_host_that_does_not_resolve_is_reported(answers, no_connections):
    resolver = resolver_for({} if answers is None else {"nowhere.test": answers})
    error = fetch_error("http://nowhere.test/a.png", FetchLimits(), resolver=resolver)
    assert error.error_type == "UnresolvableHostError"
    assert "nowhere.test" in error.message


# --- address policy ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "2606:2800:220:1::1", "::ffff:93.184.216.34", "64:ff9b::5db8:d822"],
)
def test_public_addresses_and_their_ipv6_wrappings_are_allowed(address):
    assert is_blocked(ipaddress.ip_address(address), []) is None


def test_allowed_networks_lift_the_block_for_their_addresses_only():
    allowed = parse_allowed_networks("10.0.0.0/8, fd00::/8")
    assert is_blocked(ipaddress.ip_address("10.1.2.3"), allowed) is None
    assert is_blocked(ipaddress.ip_address("::ffff:10.1.2.3"), allowed) is None
    assert is_blocked(ipaddress.ip_address("fd00::5"), allowed) is None
    assert is_blocked(ipaddress.ip_address("192.168.0.1"), allowed) == "a private address"


def test_metadata_addresses_need_an_allowed_entry_naming_them_exactly():
    metadata = ipaddress.ip_address("169.254.169.254")
    assert is_blocked(metadata, parse_allowed_networks("169.254.0.0/16"))
    assert is_blocked(metadata, parse_allowed_networks("169.254.169.254/32")) is None


def test_allowed_networks_are_parsed_from_a_comma_separated_setting():
    assert parse_allowed_networks("") == []
    assert [str(n) for n in parse_allowed_networks(" 127.0.0.0/8 ,, ::1 ")] == [
        "127.0.0.0/8",
        "::1/128",
    ]
    for bad in ("10.0.0.0/33", "10.1.2.3/8", "intranet"):
        with pytest.raises(ValueError, match=bad.replace(".", r"\.")):
            parse_allowed_networks(f"127.0.0.0/8,{bad}")


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1.1", "10.1.0.1"),
        ("0x5db8d822", "93.184.216.34"),
        ("example.com", None),
    ],
)
def test_legacy_ipv4_spellings_are_read_like_inet_aton(host, address):
    parsed = parse_legacy_ipv4(host)
    assert (str(parsed) if parsed else None) == address
