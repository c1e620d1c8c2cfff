"""Which IP addresses a remote fetch may connect to, and how a URL host becomes addresses.

Framework-free on purpose: the upload-by-URL fetch and the delivery watermark fetch share it.

The policy is a deny list of every special-purpose range (loopback, private, link-local,
metadata, tunnels that embed an IPv4 address, ...) followed by a catch-all on Python's
``is_global``, so a range we forgot is still refused. Operators can lift the deny list for
explicit networks (tests, on-premise sources).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

PUBLIC_ONLY = "Imgwire only fetches public addresses"

# Instance metadata services hand out cloud credentials. They stay blocked even inside a broad
# allowed range (allowing 100.64.0.0/10 for an on-premise source must not open Alibaba's
# 100.100.100.200); only an allowed entry naming the single address lifts the block.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean
        "169.254.170.2",  # AWS ECS task credentials
        "169.254.170.23",  # AWS EKS pod identity
        "100.100.100.200",  # Alibaba Cloud
        "168.63.129.16",  # Azure WireServer (a public address, so the catch-all misses it)
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::23",  # AWS EKS pod identity over IPv6
    )
)

# Most specific first: the first match names the reason.
_IPV4_RULES: list[tuple[ipaddress.IPv4Network, str]] = [
    (ipaddress.IPv4Network(net), reason)
    for net, reason in (
        ("0.0.0.0/32", "the unspecified address"),
        ("0.0.0.0/8", "a 'this network' address"),
        ("127.0.0.0/8", "a loopback address"),
        ("10.0.0.0/8", "a private address"),
        ("172.16.0.0/12", "a private address"),
        ("192.168.0.0/16", "a private address"),
        ("100.64.0.0/10", "a carrier-grade NAT address"),
        ("169.254.0.0/16", "a link-local address"),
        ("192.0.0.0/24", "an IETF protocol-assignment address"),
        ("192.0.2.0/24", "a documentation address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("192.88.99.0/24", "a 6to4 relay anycast address"),
        ("224.0.0.0/4", "a multicast address"),
        ("255.255.255.255/32", "the broadcast address"),
        ("240.0.0.0/4", "a reserved address"),
    )
]

_IPV6_RULES: list[tuple[ipaddress.IPv6Network, str]] = [
    (ipaddress.IPv6Network(net), reason)
    for net, reason in (
        ("::/128", "the unspecified address"),
        ("::1/128", "a loopback address"),
        ("100::/64", "a discard-only address"),
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
        # Teredo hides the client's IPv4 address (obfuscated) behind a relay we can't vet.
        ("2001::/32", "a Teredo tunnel address"),
        ("2001:2::/48", "a benchmarking address"),
        ("2001:db8::/32", "a documentation address"),
        ("3fff::/20", "a documentation address"),
        ("fc00::/7", "a private (unique local) address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address"),
        ("ff00::/8", "a multicast address"),
    )
]

_IPV4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")


def parse_allowed_networks(value: str) -> list[IPNetwork]:
    """``"10.0.0.0/8, fd00::/8"`` → networks. Empty entries are skipped; host bits are an error
    because ``10.1.2.3/8`` is more likely a typo for a /32 than a wish to allow all of 10/8."""
    networks: list[IPNetwork] = []
    for entry in (value or "").split(","):
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=True))
        except ValueError as error:
            raise ValueError(f"Invalid allowed network {entry!r}: {error}.") from None
    return networks


def as_networks(values: Iterable[IPNetwork | str]) -> list[IPNetwork]:
    """Accept network objects or CIDR strings (as settings tend to hold them)."""
    return [
        v if isinstance(v, ipaddress.IPv4Network | ipaddress.IPv6Network) else _one_network(v)
        for v in values
    ]


def _one_network(value: str) -> IPNetwork:
    (network,) = parse_allowed_networks(value)
    return network


def is_blocked(ip: IPAddress | str, allowed: Iterable[IPNetwork]) -> str | None:
    """Why Imgwire must not connect to ``ip`` (e.g. "a private address"), or None if it may."""
    ip = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
        ip = ipaddress.IPv6Address(int(ip))  # a zone (fe80::1%eth0) never makes an address public
    allowed = list(allowed)
    same_version = [net for net in allowed if net.version == ip.version]
    if ip in METADATA_ADDRESSES:
        if any(net.num_addresses == 1 and ip in net for net in same_version):
            return None
        return "a cloud metadata address"
    if any(ip in net for net in same_version):
        return None
    if isinstance(ip, ipaddress.IPv4Address):
        return _ipv4_reason(ip)
    return _ipv6_reason(ip, allowed)


def _ipv4_reason(ip: ipaddress.IPv4Address) -> str | None:
    for network, reason in _IPV4_RULES:
        if ip in network:
            return reason
    if not ip.is_global:
        return "a special-purpose (non-public) address"
    return None


def _ipv6_reason(ip: ipaddress.IPv6Address, allowed: list[IPNetwork]) -> str | None:
    for network, reason in _IPV6_RULES[:2]:  # :: and ::1 sit inside the IPv4-compatible range
        if ip in network:
            return reason
    # Forms that carry an IPv4 address: the packet ends up at (or is judged by) that address,
    # so it must pass the IPv4 policy, allowed networks included.
    embedded: tuple[str, ipaddress.IPv4Address] | None = None
    if ip in _IPV4_MAPPED:
        embedded = ("an IPv4-mapped address for", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    elif ip in _IPV4_COMPATIBLE:
        return f"a deprecated IPv4-compatible address (for {ipaddress.IPv4Address(int(ip))})"
    elif ip in _NAT64:
        embedded = ("a NAT64 address for", ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    elif ip in _SIX_TO_FOUR and ip.sixtofour is not None:
        embedded = ("a 6to4 address for", ip.sixtofour)
    if embedded is not None:
        label, v4 = embedded
        inner = is_blocked(v4, allowed)
        return f"{label} {v4}, {inner}" if inner else None
    for network, reason in _IPV6_RULES[2:]:
        if ip in network:
            return reason
    if ip not in _GLOBAL_UNICAST:
        return "a reserved address"
    if not ip.is_global:
        return "a special-purpose (non-public) address"
    return None


# --- URL → host -----------------------------------------------------------------------------

DEFAULT_PORTS = {"http": 80, "https": 443}
_MAX_URL_LENGTH = 8192
_HOSTNAME = re.compile(r"^(?:[a-z0-9_-]{1,63}\.)*[a-z0-9_-]{1,63}\.?$")
_PATH_SAFE = "/%!$&'()*+,;=:@-._~"


class UrlError(ValueError):
    """Why a URL can't be fetched, phrased to follow "The URL ..."."""

    error_type = "InvalidUrlError"


class UnsupportedScheme(UrlError):
    error_type = "UnsupportedSchemeError"


class InvalidHost(UrlError):
    """The host is spelled like an IPv4 address but isn't one."""


@dataclass(frozen=True)
class Target:
    url: str  # normalised: no fragment, path percent-encoded
    scheme: str
    host: str  # what gets resolved: lowercase ASCII, no brackets, trailing dot kept
    port: int
    request_target: str
    host_header: str
    tls_name: str  # SNI and certificate name: no brackets, no trailing dot


def parse_url(url: str) -> Target:
    """Strict http(s) URL parsing; raises UrlError (or UnsupportedScheme)."""
    if not isinstance(url, str) or not url:
        raise UrlError("is empty; pass an absolute http:// or https:// URL")
    if len(url) > _MAX_URL_LENGTH:
        raise UrlError(f"is longer than {_MAX_URL_LENGTH} characters")
    # urlsplit silently drops tabs and newlines; a URL that needs that is not one we trust.
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in url):
        raise UrlError("contains spaces or control characters; percent-encode them")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UrlError(f"could not be parsed ({error})") from None
    scheme = parts.scheme.lower()
    if not scheme:
        raise UrlError("has no scheme; it must start with http:// or https://")
    if scheme not in DEFAULT_PORTS:
        raise UnsupportedScheme(
            f"uses the {scheme}: scheme; Imgwire only fetches http:// and https:// URLs"
        )
    if "@" in parts.netloc:
        raise UrlError("contains credentials (user:password@); Imgwire never sends credentials")
    if "\\" in parts.netloc:  # WHATWG parsers read it as "/", urlsplit doesn't: ambiguous
        raise UrlError("contains a backslash in its host")
    if port == 0:
        raise UrlError("has port 0")
    port = port or DEFAULT_PORTS[scheme]
    host = parts.hostname or ""  # lowercased, brackets removed
    if not host:
        raise UrlError("has no host")
    if parts.netloc.startswith("["):
        if "%" in host:
            raise UrlError("has an IPv6 zone identifier")
        host_header, tls_name = f"[{host}]", host
    else:
        try:
            host = host if host.isascii() else host.encode("idna").decode("ascii")
        except UnicodeError:
            raise UrlError(f"has a host name that is not valid IDNA ({host!r})") from None
        if len(host) > 254 or not _HOSTNAME.match(host):
            raise UrlError(f"has an invalid host name ({host!r})")
        parse_legacy_ipv4(host)  # raises InvalidHost for "1.2.3.4.5" and friends
        host_header = tls_name = host.rstrip(".")
    if port != DEFAULT_PORTS[scheme]:
        host_header = f"{host_header}:{port}"
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    query = quote(parts.query, safe=_PATH_SAFE + "?")
    return Target(
        url=urlunsplit((scheme, host_header, path, query, "")),
        scheme=scheme,
        host=host,
        port=port,
        request_target=f"{path}?{query}" if query else path,
        host_header=host_header,
        tls_name=tls_name,
    )


# --- host → addresses ------------------------------------------------------------------------

Resolver = Callable[..., list]

# WHATWG URL rule: a host whose last label is a number is an IPv4 address or an error, so
# "foo.127" or "1.2.3.4.5" can never reach DNS (where an attacker's resolver would answer).
_NUMBER_LABEL = re.compile(r"^(?:[0-9]+|0[xX][0-9a-fA-F]*)$")


class UnresolvableHost(LookupError):
    """The resolver has no address for the host."""


# Names whose addresses are fixed whatever DNS says: localhost and every name under it
# (RFC 6761 6.3: resolvers answer loopback for them) and the cloud metadata servers' own
# names. A check that can only see names at creation time (a webhook's URL) reads them as
# these addresses, so the mistake is refused then, not at every later attempt.
_METADATA_NAMES = {
    "metadata.google.internal": "169.254.169.254",
    "metadata.goog": "169.254.169.254",
}


def fixed_address(host: str) -> IPAddress | None:
    """The address ``host`` always means (localhost, the metadata servers' names), or
    None for a name only DNS can answer for."""
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return ipaddress.IPv4Address("127.0.0.1")
    fixed = _METADATA_NAMES.get(name)
    return ipaddress.ip_address(fixed) if fixed else None


def parse_legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """inet_aton spellings: ``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``, ``127.0.0.1.``.

    None when the host doesn't end in a number (a name); InvalidHost when it does but isn't a
    valid address."""
    labels = host.split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()
    if not _NUMBER_LABEL.match(labels[-1]):
        return None
    if len(labels) > 4 or not all(_NUMBER_LABEL.match(label) for label in labels):
        raise InvalidHost(f"has a host that looks like an IPv4 address but isn't one ({host!r})")
    numbers = [_parse_number(label, host) for label in labels]
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise InvalidHost(f"has an IPv4 address out of range ({host!r})")
    value = numbers[-1]
    for position, number in enumerate(numbers[:-1]):
        value += number << (8 * (3 - position))
    return ipaddress.IPv4Address(value)


def _parse_number(label: str, host: str) -> int:
    try:
        if label[:2].lower() == "0x":
            return int(label[2:] or "0", 16)
        if len(label) > 1 and label.startswith("0"):
            return int(label, 8)
        return int(label, 10)
    except ValueError:
        raise InvalidHost(
            f"has a host that looks like an IPv4 address but isn't one ({host!r})"
        ) from None


def _is_localhost_name(host: str) -> bool:
    name = host.rstrip(".")
    return name == "localhost" or name.endswith(".localhost")


def resolve(host: str, port: int, resolver: Resolver = socket.getaddrinfo) -> list[IPAddress]:
    """Every address ``host`` stands for, deduplicated, in the resolver's order.

    ``host`` is lowercase ASCII without brackets. The caller must check all of them and then
    connect to one of them directly, never look the name up again.
    """
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    legacy = parse_legacy_ipv4(host)
    if legacy is not None:
        # Our parse and the system's inet_aton must both be checked: if they ever disagree
        # (libc quirks), refusing either one is the safe answer.
        found = [legacy, *_lookup(host, port, resolver, socket.AI_NUMERICHOST, quiet=True)]
        return _unique(found)
    if _is_localhost_name(host):
        # RFC 6761: these names are loopback by definition, whatever a resolver says; a
        # trailing dot ("localhost.") would otherwise slip past /etc/hosts to DNS.
        return [ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1")]
    found = _lookup(host, port, resolver, 0, quiet=False)
    if not found:
        raise UnresolvableHost("no IPv4 or IPv6 address")
    return _unique(found)


def _lookup(host: str, port: int, resolver: Resolver, flags: int, *, quiet: bool) -> list:
    try:
        infos = resolver(host, port, 0, socket.SOCK_STREAM, 0, flags)
    except (OSError, UnicodeError) as error:
        if quiet:
            return []
        detail = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise UnresolvableHost(detail) from None
    addresses = []
    for family, _type, _proto, _canon, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            addresses.append(ipaddress.ip_address(sockaddr[0]))
    return addresses


def _unique(addresses: list[IPAddress]) -> list[IPAddress]:
    return list(dict.fromkeys(addresses))
