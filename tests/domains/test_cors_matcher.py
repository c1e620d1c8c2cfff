"""The origin matcher: exact on labels and ports, never fooled by look-alike origins."""

import pytest

from domains.cors import (
    MAX_PATTERN_LENGTH,
    InvalidPattern,
    canonical_pattern,
    origin_allowed,
    parse_origin,
)

# (pattern, origin, allowed)
ORIGIN_TABLE = [
    # Exact hosts, any scheme on its default port.
    ("app.example.com", "https://app.example.com", True),
    ("app.example.com", "http://app.example.com", True),
    ("app.example.com", "https://app.example.com:443", True),
    ("app.example.com", "http://app.example.com:80", True),
    ("app.example.com", "https://app.example.com:8443", False),
    ("app.example.com", "https://app.example.com:80", False),
    ("app.example.com", "http://app.example.com:443", False),
    ("app.example.com", "https://www.app.example.com", False),
    ("app.example.com", "https://example.com", False),
    ("app.example.com", "https://app.example.co", False),
    ("app.example.com", "https://app.example.com.evil.net", False),
    ("app.example.com", "https://evilapp.example.com", False),
    # Wildcards: one or more whole labels, never the apex, never a suffix trick.
    ("*.example.com", "https://app.example.com", True),
    ("*.example.com", "https://a.b.c.example.com", True),
    ("*.example.com", "http://app.example.com", True),
    ("*.example.com", "https://example.com", False),
    ("*.example.com", "https://evil-example.com", False),
    ("*.example.com", "https://evilexample.com", False),
    ("*.example.com", "https://example.com.evil.net", False),
    ("*.example.com", "https://app.example.com.evil.net", False),
    ("*.example.com", "https://app.example.community", False),
    ("*.example.com", "https://.example.com", False),
    ("*.example.com", "https://a..example.com", False),
    ("*.example.com", "https://*.example.com", False),
    ("*.example.com", "https://app.example.com:8443", False),
    ("*.example.com", "null", False),
    ("*.example.com", "file://", False),
    ("*.example.com", "file:///etc/passwd", False),
    ("*.example.com", "chrome-extension://app.example.com", False),
    ("*.example.com", "ws://app.example.com", False),
    ("*.example.com", "", False),
    ("*.example.com", None, False),
    # URLs are not origins: userinfo, paths, queries and fragments never match.
    ("*.example.com", "https://user@app.example.com", False),
    ("*.example.com", "https://user:pw@app.example.com", False),
    ("*.example.com", "https://evil.net@app.example.com", False),
    ("*.example.com", "https://app.example.com@evil.net", False),
    ("*.example.com", "https://app.example.com/", False),
    ("*.example.com", "https://app.example.com/path", False),
    ("*.example.com", "https://app.example.com?x=1", False),
    ("*.example.com", "https://app.example.com#x", False),
    ("*.example.com", "https://evil.net/app.example.com", False),
    ("*.example.com", "https://evil.net#.example.com", False),
    # Whitespace and control characters: not what a browser sends.
    ("*.example.com", " https://app.example.com", False),
    ("*.example.com", "https://app.example.com ", False),
    ("*.example.com", "https://app.example.com\t", False),
    ("*.example.com", "https://app.example.com\r\nX-Evil: 1", False),
    ("*.example.com", "https://app .example.com", False),
    ("*.example.com", "https://app.example.com\x00.evil.net", False),
    # Case and a trailing dot are normalised on both sides.
    ("*.example.com", "HTTPS://APP.EXAMPLE.COM", True),
    ("APP.Example.COM", "https://app.example.com", True),
    ("app.example.com", "https://app.example.com.", True),
    ("app.example.com.", "https://app.example.com", True),
    ("*.example.com", "https://app.example.com..", False),
    # Scheme restriction.
    ("https://app.example.com", "https://app.example.com", True),
    ("https://app.example.com", "http://app.example.com", False),
    ("http://app.example.com", "https://app.example.com", False),
    ("https://*.example.com", "https://app.example.com", True),
    ("https://*.example.com", "http://app.example.com", False),
    ("https://app.example.com:443", "https://app.example.com", True),
    ("https://app.example.com", "https://app.example.com:443", True),
    # Explicit ports are explicit: localhost without a port is localhost on 80/443 only.
    ("localhost:3000", "http://localhost:3000", True),
    ("localhost:3000", "https://localhost:3000", True),
    ("localhost:3000", "http://localhost:3001", False),
    ("localhost:3000", "http://localhost", False),
    ("localhost", "http://localhost:3000", False),
    ("localhost", "http://localhost", True),
    ("http://localhost:3000", "https://localhost:3000", False),
    ("localhost:3000", "http://localhost:03000", True),
    ("localhost:3000", "http://localhost:99999", False),
    ("localhost:3000", "http://localhost:-3000", False),
    ("localhost:3000", "http://localhost:3000:3000", False),
    # IP literals.
    ("127.0.0.1:8000", "http://127.0.0.1:8000", True),
    ("127.0.0.1:8000", "http://127.0.0.2:8000", False),
    ("127.0.0.1:8000", "http://localhost:8000", False),
    ("http://[::1]:3000", "http://[::1]:3000", True),
    ("http://[::1]:3000", "http://[0:0:0:0:0:0:0:1]:3000", True),
    ("http://[::1]:3000", "http://[::2]:3000", False),
    # IDN: Unicode and punycode spellings are the same host.
    ("bücher.example", "https://xn--bcher-kva.example", True),
    ("xn--bcher-kva.example", "https://xn--bcher-kva.example", True),
    ("xn--bcher-kva.example", "https://bücher.example", True),
    ("*.bücher.example", "https://shop.xn--bcher-kva.example", True),
    ("BÜCHER.example", "https://xn--bcher-kva.example", True),
    ("bücher.example", "https://bucher.example", False),
    ("bücher.example", "https://xn--bcher-kva.example.evil.net", False),
    # Fullwidth letters fold to ASCII, as browsers fold them.
    ("\uff41\uff50\uff50.example.com", "https://app.example.com", True),
]


@pytest.mark.parametrize(("pattern", "origin", "allowed"), ORIGIN_TABLE)
def test_an_origin_matches_a_pattern_only_exactly(pattern, origin, allowed):
    assert origin_allowed(origin, [canonical_pattern(pattern)]) is allowed


def test_an_origin_is_allowed_when_any_pattern_matches():
    patterns = [canonical_pattern(p) for p in ("a.example.com", "*.example.org")]
    assert origin_allowed("https://x.example.org", patterns)
    assert not origin_allowed("https://example.org", patterns)


def test_no_patterns_match_nothing_by_themselves():
    # "No patterns means every origin" is a policy of the caller, not of the matcher.
    assert not origin_allowed("https://app.example.com", [])


@pytest.mark.parametrize(
    "origin", ["null", "file://", "https://", "https://:443", "https://a@b.com", "data:,x"]
)
def test_values_that_are_not_tuple_origins_do_not_parse(origin):
    assert parse_origin(origin) is None


def test_an_overlong_origin_does_not_parse():
    assert parse_origin("https://" + "a." * 300 + "example.com") is None


# (pattern as typed, stored canonical form)
CANONICAL_TABLE = [
    ("app.example.com", "app.example.com"),
    ("APP.Example.Com", "app.example.com"),
    ("app.example.com.", "app.example.com"),
    ("HTTPS://app.example.com", "https://app.example.com"),
    ("https://app.example.com:443", "https://app.example.com"),
    ("http://app.example.com:80", "http://app.example.com"),
    ("https://app.example.com:80", "https://app.example.com:80"),
    ("app.example.com:443", "app.example.com:443"),
    ("*.Example.com", "*.example.com"),
    ("bücher.example", "xn--bcher-kva.example"),
    ("*.Bücher.Example.", "*.xn--bcher-kva.example"),
    ("localhost:3000", "localhost:3000"),
    ("http://[0:0::1]:3000", "http://[::1]:3000"),
    ("127.0.0.1:8080", "127.0.0.1:8080"),
    ("my_app.example.com", "my_app.example.com"),
]


@pytest.mark.parametrize(("typed", "stored"), CANONICAL_TABLE)
def test_patterns_are_stored_in_one_canonical_spelling(typed, stored):
    assert canonical_pattern(typed) == stored


# (pattern, words the refusal must contain)
INVALID_TABLE = [
    ("", "host name"),
    ("https://", "host name"),
    ("https://app.example.com/", "path"),
    ("https://app.example.com/callback", "path"),
    ("app.example.com/", "path"),
    ("app.example.com?x=1", "query"),
    ("app.example.com#top", "fragment"),
    ("user@app.example.com", "credentials"),
    ("https://user:pw@app.example.com", "credentials"),
    ("ftp://app.example.com", "only https:// or http://"),
    ("ws://app.example.com", "only https:// or http://"),
    ("://app.example.com", "scheme"),
    ("https:app.example.com", "scheme"),
    ("https:/app.example.com", "scheme"),
    ("*", "no CORS origins accepts every origin"),
    ("https://*", "no CORS origins accepts every origin"),
    ("*.com", "at least two labels"),
    ("*.localhost", "at least two labels"),
    ("app.*.example.com", "whole leftmost label"),
    ("*app.example.com", "whole leftmost label"),
    ("ap*.example.com", "whole leftmost label"),
    ("**.example.com", "whole leftmost label"),
    ("*.*.example.com", "whole leftmost label"),
    ("app.example.*", "whole leftmost label"),
    ("*.example.com:*", "port"),
    ("app.example.com:", "port"),
    ("app.example.com:0", "port"),
    ("app.example.com:65536", "port"),
    ("app.example.com:80a", "port"),
    ("app.example.com:+80", "port"),
    ("app.example.com:8080:1", "brackets"),
    ("::1", "brackets"),
    ("[::1", "closing bracket"),
    ("[::1]x", "only a :port"),
    ("[not-ipv6]", "not a valid IPv6"),
    ("*.127.0.0.1", "IP address"),
    ("*.[::1]", "brackets"),
    ("1.2.3", "IPv4"),
    ("256.1.1.1", "IPv4"),
    ("0x7f.0.0.1", "IPv4"),
    ("app..example.com", "empty labels"),
    (".example.com", "empty labels"),
    ("app.example.com..", "empty labels"),
    ("-app.example.com", "not a valid host name label"),
    ("app-.example.com", "not a valid host name label"),
    ("app!.example.com", "not a valid host name label"),
    ("app example.com", "spaces"),
    ("app.example.com\n", "spaces"),
    ("\tapp.example.com", "spaces"),
    ("app.example.com\x00", "control"),
    ("straße.example", "xn--"),
    ("a" * 64 + ".example.com", "63"),
    (".".join(["a" * 63] * 4), "253"),
    ("a" * (MAX_PATTERN_LENGTH + 1), f"{MAX_PATTERN_LENGTH}"),
]


@pytest.mark.parametrize(("pattern", "reason"), INVALID_TABLE)
def test_an_invalid_pattern_is_refused_saying_why(pattern, reason):
    with pytest.raises(InvalidPattern) as refusal:
        canonical_pattern(pattern)
    assert reason in str(refusal.value)
