"""DNS lookups for custom domains, through one resolver configured by settings.

Every DNS question Imgwire asks goes through ``Resolver``: the system's resolver
(``/etc/resolv.conf``) by default, or the servers in ``IMGWIRE_DNS_NAMESERVERS``
(comma-separated ``ip[:port]``; tests point it at a DNS server they run on loopback, so
lookups are real packets, never mocks).

``cname`` asks for the CNAME record at one name only, so callers see a chain hop by hop
instead of a recursive answer that hides where it went.
"""

import ipaddress
from urllib.parse import urlsplit

import dns.exception
import dns.name
import dns.nameserver
import dns.resolver
from django.conf import settings

# Per server, and for a whole lookup (retries and every server included). test_connection
# runs in the request, so a dead resolver must cost seconds, not the client's timeout.
QUERY_TIMEOUT_SECONDS = 2.0
LOOKUP_LIFETIME_SECONDS = 5.0


class NoSuchName(Exception):
    """NXDOMAIN: the name does not exist in DNS."""


class LookupFailed(Exception):
    """No answer at all (timeout, SERVFAIL, REFUSED, no resolver): nothing is known."""


def normalise_name(name: str) -> str:
    return name.lower().removesuffix(".")


def parse_nameservers(text: str) -> list[tuple[str, int]]:
    """``"192.0.2.53, 192.0.2.54:5353, [2001:db8::53]:53"`` → [(ip, port), …]; empty: []."""
    servers = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        host, port = item, "53"
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            if rest:
                port = rest.removeprefix(":")
        elif item.count(":") == 1:
            host, _, port = item.partition(":")
        try:
            address = str(ipaddress.ip_address(host))
        except ValueError:
            raise ValueError(
                f"IMGWIRE_DNS_NAMESERVERS: {item!r} is not an ip[:port] "
                "(like 192.0.2.53 or [2001:db8::53]:5353)"
            ) from None
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"IMGWIRE_DNS_NAMESERVERS: bad port in {item!r}")
        servers.append((address, int(port)))
    return servers


def cname_target_setting(configured: str, cdn_url: str) -> str:
    """IMGWIRE_CUSTOM_DOMAIN_CNAME_TARGET, defaulting to the host of IMGWIRE_CDN_URL."""
    target = normalise_name(configured or urlsplit(cdn_url).hostname or "")
    if not target or any(c in target for c in "/:@ "):
        raise ValueError(
            "IMGWIRE_CUSTOM_DOMAIN_CNAME_TARGET must be a DNS name like cdn.example.com, "
            f"got {configured!r}"
        )
    return target


class Resolver:
    def __init__(self, nameservers: list[tuple[str, int]] | None = None):
        self.nameservers = list(
            settings.IMGWIRE_DNS_NAMESERVERS if nameservers is None else nameservers
        )

    def _dnspython(self) -> dns.resolver.Resolver:
        # Built per lookup: resolv.conf changes are seen, and no answer is cached between
        # two test_connection calls (the customer may just have fixed their record).
        if self.nameservers:
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = [
                dns.nameserver.Do53Nameserver(address, port) for address, port in self.nameservers
            ]
        else:
            resolver = dns.resolver.Resolver()
        resolver.timeout = QUERY_TIMEOUT_SECONDS
        resolver.lifetime = LOOKUP_LIFETIME_SECONDS
        resolver.cache = None
        return resolver

    def _answer(self, name: str, rdtype: str) -> list[str]:
        """Record texts of one type at ``name``; [] when the name has none of that type."""
        try:
            answer = self._dnspython().resolve(
                dns.name.from_text(name), rdtype, search=False, raise_on_no_answer=False
            )
        except dns.resolver.NXDOMAIN:
            raise NoSuchName(name) from None
        except dns.exception.DNSException as error:
            raise LookupFailed(f"{type(error).__name__}: {error}") from None
        if answer.rrset is None:
            return []
        return [rdata.to_text() for rdata in answer.rrset]

    def cname(self, name: str) -> str | None:
        """The target of the CNAME record at ``name``, or None when it has none.

        Raises NoSuchName (NXDOMAIN) or LookupFailed (no conclusive answer).
        """
        targets = self._answer(name, "CNAME")
        return normalise_name(targets[0]) if targets else None

    def addresses(self, name: str) -> list[str]:
        """IPv4 and IPv6 addresses of ``name``; [] when it has none or the lookup fails."""
        found = []
        for rdtype in ("A", "AAAA"):
            try:
                found += self._answer(name, rdtype)
            except (NoSuchName, LookupFailed):
                continue
        return found
