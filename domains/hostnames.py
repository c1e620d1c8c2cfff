"""Custom domain host names: validation, normal form, and the install's own hosts.

A custom domain is one DNS host name that the customer CNAMEs to the install, so it must
be a subdomain: a zone's apex cannot hold a CNAME next to its SOA and NS records
(RFC 1034 §3.6.2). Without the Public Suffix List we cannot tell ``example.co.uk`` (an
apex) from ``img.example.com`` (a subdomain), so the rule here is "at least three labels",
which refuses every apex under a one-label suffix (``example.com``) and every suffix
itself; an apex under a longer suffix passes this check but can never reach CONNECTED,
because test_connection requires a CNAME record at the name (docs/custom-domains.md).
"""

import codecs
from encodings import idna as stdlib_idna
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import split_domain_port, validate_host

# The CORS matcher's label rules, so both spell Unicode host names identically.
from domains.cors import _DOTS, InvalidPattern, _ascii_label
from domains.models import DCV_RECORD_PREFIX, MAX_CUSTOM_HOSTNAME_LENGTH

MIN_LABELS = 3
# Typed input may be Unicode; the stored punycode form is checked against the real limit.
MAX_TYPED_LENGTH = 512
# Names that never resolve to anyone's server (RFC 6761), so they can never be connected.
RESERVED_SUFFIXES = ("localhost", "invalid")


class InvalidHostname(ValueError):
    """The message is shown to the API caller as is, so it says how to fix the name."""


def _refuse_url_parts(text: str) -> None:
    if "://" in text:
        raise InvalidHostname("write only the host name, without https://")
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in text):
        raise InvalidHostname("host names may not contain spaces or control characters")
    for char, what in (
        ("@", "credentials"),
        ("/", "a path"),
        ("?", "a query"),
        ("#", "a fragment"),
    ):
        if char in text:
            raise InvalidHostname(f"write only the host name, without {what}")
    if text.startswith("[") or text.count(":") > 1:
        raise InvalidHostname("IP addresses cannot be custom domains; use a host name")
    if ":" in text:
        raise InvalidHostname("write only the host name, without a port: delivery uses 443")
    if "*" in text:
        raise InvalidHostname("wildcards are not supported: name one host, like img.example.com")


def _label(label: str) -> str:
    try:
        ascii_label = _ascii_label(label)
    except InvalidPattern as error:
        raise InvalidHostname(str(error)) from None
    if "_" in ascii_label:
        # Allowed in some DNS records, but not in host names or certificate names.
        raise InvalidHostname(f"{label!r} contains an underscore, which host names may not")
    if ascii_label.startswith("xn--") and not _is_punycode(ascii_label):
        raise InvalidHostname(f"{label!r} is not valid punycode")
    return ascii_label


def _is_punycode(label: str) -> bool:
    """An ``xn--`` label must decode to non-ASCII text that encodes back to itself."""
    try:
        decoded = codecs.decode(label[4:], "punycode")
        return not decoded.isascii() and stdlib_idna.ToASCII(decoded).decode() == label
    except (UnicodeError, ValueError):
        return False


def normalise_hostname(text: str) -> str:
    """The stored form of a custom domain: lowercase punycode, no trailing dot.

    Raises InvalidHostname with a sentence saying what to change.
    """
    if not text:
        raise InvalidHostname("a host name is needed, like img.example.com")
    if len(text) > MAX_TYPED_LENGTH:
        raise InvalidHostname(f"host names may be at most {MAX_CUSTOM_HOSTNAME_LENGTH} characters")
    _refuse_url_parts(text)
    if text.endswith((".", "\u3002", "\uff0e", "\uff61")):
        text = text[:-1]  # "img.example.com." is the same name written fully qualified
    labels = [_label(label) for label in _DOTS.split(text)]
    hostname = ".".join(labels)
    if labels[-1].isdigit():
        raise InvalidHostname("IP addresses cannot be custom domains; use a host name")
    if len(labels) < MIN_LABELS:
        raise InvalidHostname(
            f"{hostname} is an apex domain or a top-level domain, which cannot hold a CNAME "
            f"record; use a subdomain, like img.{hostname}"
        )
    if labels[-1] in RESERVED_SUFFIXES:
        raise InvalidHostname(f".{labels[-1]} names never resolve publicly; use a real domain")
    if len(hostname) > MAX_CUSTOM_HOSTNAME_LENGTH:
        raise InvalidHostname(
            f"host names may be at most {MAX_CUSTOM_HOSTNAME_LENGTH} characters, so that "
            f"{DCV_RECORD_PREFIX}<host name> is still a valid DNS name"
        )
    return hostname


def _own_allowed_hosts() -> list[str]:
    return [host for host in settings.ALLOWED_HOSTS if host != "*"]


def is_own_host(hostname: str) -> bool:
    """The install's own names (API, CDN, CNAME target and anything under it, ALLOWED_HOSTS).

    A customer may not claim them, and requests to them are never custom-domain requests.
    """
    target = settings.IMGWIRE_CUSTOM_DOMAIN_CNAME_TARGET
    own = {
        urlsplit(settings.IMGWIRE_PUBLIC_URL).hostname,
        urlsplit(settings.IMGWIRE_CDN_URL).hostname,
        target,
    }
    if hostname in own or hostname.endswith("." + target):
        return True
    return validate_host(hostname, _own_allowed_hosts())


def could_be_custom_domain(host: str) -> bool:
    """Whether a request's (already split, lowercased) host is worth a database lookup.

    Cheap checks first: IP literals, one- and two-label names and the install's own hosts
    never are, so API, dashboard and test-client requests cost no query.
    """
    if not host or host.startswith("[") or host.rpartition(".")[2].isdigit():
        return False
    return host.count(".") >= MIN_LABELS - 1 and not is_own_host(host)


def request_host(request) -> str:
    """The request's Host without port, lowercased; "" when malformed.

    Read raw, without ``request.get_host()``: that raises for hosts missing from
    ALLOWED_HOSTS, and connected custom domains are admitted here instead.
    """
    raw = request.META.get("HTTP_HOST") or request.META.get("SERVER_NAME", "")
    return split_domain_port(raw)[0]
