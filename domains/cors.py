"""CORS origin patterns: parsing, canonical form and matching (docs/cors.md).

A pattern names hosts, never URLs: ``app.example.com``, ``*.example.com``,
``localhost:3000``, optionally restricted to a scheme (``https://app.example.com``).
Matching compares whole host labels and the effective port, so suffix tricks such as
``evil-example.com`` or ``example.com.evil.net`` can never satisfy ``*.example.com``.

Both sides go through the same host normalisation (lowercase, IDNA to punycode, one
trailing dot removed), so a pattern typed as ``Bücher.example`` and the browser's
``https://xn--bcher-kva.example`` meet in the middle.
"""

import ipaddress
import re
from dataclasses import dataclass
from encodings import idna as stdlib_idna
from functools import lru_cache

MAX_PATTERN_LENGTH = 255
MAX_HOST_LENGTH = 253
MAX_LABEL_LENGTH = 63
# Browsers send short origins; anything longer is not worth parsing.
MAX_ORIGIN_LENGTH = 512

DEFAULT_PORTS = {"http": 80, "https": 443}

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_PORT = re.compile(r"^[0-9]{1,5}$")
# "https:example.com" or "https:/example.com" (but not a host called "http" with a port).
_SCHEME_WITHOUT_SLASHES = re.compile(r"^https?:(?![0-9]*$)", re.IGNORECASE)
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_\-]*[a-z0-9_])?$")
# The dots IDNA treats as label separators (ASCII, ideographic, fullwidth, halfwidth).
_DOTS = re.compile("[.\u3002\uff0e\uff61]")
# UTS 46 "deviation" characters: IDNA 2003 (the stdlib codec) maps them away while browsers
# (non-transitional processing) keep them, so the two would disagree on the punycode.
_DEVIATIONS = {"\u00df": "ß", "\u03c2": "ς", "\u200c": "ZWNJ", "\u200d": "ZWJ"}


class InvalidPattern(ValueError):
    """The message is shown to the API caller as is, so it says how to fix the pattern."""


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int


@dataclass(frozen=True)
class OriginPattern:
    scheme: str | None  # None: http and https both match
    host: str  # the part after "*." for wildcards
    wildcard: bool
    port: int | None  # None: the origin's scheme's default port

    def __str__(self) -> str:
        text = f"{self.scheme}://" if self.scheme else ""
        text += f"*.{self.host}" if self.wildcard else self.host
        return f"{text}:{self.port}" if self.port is not None else text

    def matches(self, origin: Origin) -> bool:
        if self.scheme is not None and origin.scheme != self.scheme:
            return False
        expected_port = self.port if self.port is not None else DEFAULT_PORTS[origin.scheme]
        if origin.port != expected_port:
            return False
        if self.wildcard:
            # At least one whole label before the base: the apex itself does not match.
            return origin.host.endswith("." + self.host)
        return origin.host == self.host


def _has_blank_or_control(text: str) -> bool:
    return any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in text)


def _split_url_parts(rest: str, what: str) -> str:
    """Return the authority of ``rest``; refuse credentials, paths, queries, fragments."""
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority = rest[:end]
    if "@" in authority:
        raise InvalidPattern(f"{what} may not contain credentials (user:password@)")
    if end < len(rest):
        part = {"/": "a path", "?": "a query", "#": "a fragment"}[rest[end]]
        raise InvalidPattern(
            f"{what} may not contain {part}: write only the host, like https://app.example.com"
        )
    return authority


def _split_host_port(authority: str) -> tuple[str, str | None]:
    if authority.startswith("["):
        close = authority.find("]")
        if close < 0:
            raise InvalidPattern("an IPv6 address needs its closing bracket, like [::1]:3000")
        host, after = authority[: close + 1], authority[close + 1 :]
        if after and not after.startswith(":"):
            raise InvalidPattern("only a :port may follow an IPv6 address, like [::1]:3000")
        return host, after[1:] if after else None
    if authority.count(":") > 1:
        raise InvalidPattern("IPv6 addresses must be written in brackets, like [::1]:3000")
    host, colon, port = authority.partition(":")
    return host, port if colon else None


def _parse_port(port: str) -> int:
    if not _PORT.match(port) or not 1 <= int(port) <= 65535:
        raise InvalidPattern(f"the port must be a number from 1 to 65535, got {port!r}")
    return int(port)


def _ascii_label(label: str) -> str:
    if not label:
        raise InvalidPattern("host names may not contain empty labels (two dots in a row)")
    if label.isascii():
        ascii_label = label.lower()
    else:
        for char, name in _DEVIATIONS.items():
            if char in label:
                raise InvalidPattern(
                    f"the label {label!r} contains {name}, which browsers and older IDNA "
                    "rules encode differently; write this label in its xn-- (punycode) form"
                )
        try:
            ascii_label = stdlib_idna.ToASCII(label).decode("ascii").lower()
        except UnicodeError:
            raise InvalidPattern(f"{label!r} is not a valid internationalised label") from None
    if len(ascii_label) > MAX_LABEL_LENGTH:
        raise InvalidPattern(f"host name labels may be at most {MAX_LABEL_LENGTH} characters")
    if not _LABEL.match(ascii_label):
        raise InvalidPattern(
            f"{label!r} is not a valid host name label: use letters, digits and inner hyphens"
        )
    return ascii_label


def _normalise_host(host: str) -> str:
    """Lowercase, punycode, one trailing dot removed; IP literals in canonical form."""
    if host.startswith("["):
        try:
            return f"[{ipaddress.IPv6Address(host[1:-1]).compressed}]"
        except ValueError:
            raise InvalidPattern(f"{host} is not a valid IPv6 address") from None
    if host.endswith((".", "\u3002", "\uff0e", "\uff61")):
        # "app.example.com." is the same DNS name written fully qualified.
        host = host[:-1]
    if not host:
        raise InvalidPattern("a pattern needs a host name, like app.example.com")
    labels = [_ascii_label(label) for label in _DOTS.split(host)]
    if labels[-1].isdigit():
        # A numeric last label is never a domain name: it must be a dotted-quad IPv4 address.
        try:
            return str(ipaddress.IPv4Address(".".join(labels)))
        except ValueError:
            raise InvalidPattern(
                f"{host!r} is neither a host name nor an IPv4 address like 192.0.2.10"
            ) from None
    ascii_host = ".".join(labels)
    if len(ascii_host) > MAX_HOST_LENGTH:
        raise InvalidPattern(f"host names may be at most {MAX_HOST_LENGTH} characters")
    return ascii_host


def _is_ip_literal(host: str) -> bool:
    return host.startswith("[") or host.rpartition(".")[2].isdigit()


@lru_cache(maxsize=4096)
def parse_pattern(text: str) -> OriginPattern:
    """Parse and validate a pattern; raises InvalidPattern saying what to change."""
    if not isinstance(text, str) or not text:
        raise InvalidPattern("a pattern needs a host name, like app.example.com")
    if len(text) > MAX_PATTERN_LENGTH:
        raise InvalidPattern(f"patterns may be at most {MAX_PATTERN_LENGTH} characters long")
    if _has_blank_or_control(text):
        raise InvalidPattern("patterns may not contain spaces or control characters")
    scheme = None
    rest = text
    if match := _SCHEME.match(text):
        scheme = match.group(1).lower()
        if scheme not in DEFAULT_PORTS:
            raise InvalidPattern(f"only https:// or http:// may prefix a pattern, not {scheme}://")
        rest = text[match.end() :]
    elif "://" in text or _SCHEME_WITHOUT_SLASHES.match(text):
        raise InvalidPattern("write the scheme as https:// or http://, or leave it out")
    host, port_text = _split_host_port(_split_url_parts(rest, "patterns"))
    port = _parse_port(port_text) if port_text is not None else None
    if scheme is not None and port == DEFAULT_PORTS[scheme]:
        port = None  # https://app.example.com:443 is https://app.example.com

    if host == "*":
        raise InvalidPattern(
            "* alone is not a pattern: an environment with no CORS origins accepts every origin"
        )
    wildcard = host.startswith("*.")
    if wildcard:
        host = host[2:]
    if "*" in host:
        raise InvalidPattern("wildcards must be a whole leftmost label, like *.example.com")
    host = _normalise_host(host)
    if wildcard:
        if _is_ip_literal(host):
            raise InvalidPattern("wildcards cannot be combined with an IP address")
        if "." not in host:
            raise InvalidPattern(
                "a wildcard needs at least two labels after it, like *.example.com"
            )
    return OriginPattern(scheme=scheme, host=host, wildcard=wildcard, port=port)


def canonical_pattern(text: str) -> str:
    """The form patterns are stored and compared in (duplicates are found on it)."""
    return str(parse_pattern(text))


def parse_origin(value: str | None) -> Origin | None:
    """The ``Origin`` header as (scheme, host, effective port); None when it cannot match.

    ``null``, non-http(s) schemes, and anything carrying credentials, a path, a query or a
    wildcard are not origins any pattern may allow.
    """
    if not value or len(value) > MAX_ORIGIN_LENGTH or _has_blank_or_control(value):
        return None
    match = _SCHEME.match(value)
    if match is None or match.group(1).lower() not in DEFAULT_PORTS:
        return None
    scheme = match.group(1).lower()
    try:
        host, port_text = _split_host_port(_split_url_parts(value[match.end() :], "origins"))
        if "*" in host:
            return None
        port = _parse_port(port_text) if port_text is not None else DEFAULT_PORTS[scheme]
        return Origin(scheme=scheme, host=_normalise_host(host), port=port)
    except InvalidPattern:
        return None


def origin_allowed(origin: str | None, patterns) -> bool:
    """Whether the ``Origin`` header matches one of the (stored, canonical) patterns."""
    parsed = parse_origin(origin)
    if parsed is None:
        return False
    return any(parse_pattern(pattern).matches(parsed) for pattern in patterns)
