"""State changes of custom domains: one function each (docs/custom-domains.md).

``custom_domain_test_connection`` does its DNS and TLS I/O before any transaction and then
writes the result with one conditional UPDATE, so a slow resolver never holds a lock and a
domain deleted meanwhile is not resurrected.
"""

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from domains.dns import LookupFailed, NoSuchName, Resolver
from domains.hostnames import InvalidHostname, is_own_host, normalise_hostname
from domains.models import CustomDomain, CustomDomainCertificateStatus, CustomDomainStatus
from domains.tls import Certificate, CertificateProbe
from environments.models import Environment
from environments.quotas import check_custom_domain_allowed
from imgwire_site import domain as refusals
from imgwire_site.domain import Refusal

# A customer may chain CNAMEs through their own names before reaching the target; more
# hops than this is a loop or a mistake.
MAX_CNAME_HOPS = 8
MAX_REASON_LENGTH = 500

Status = CustomDomainStatus
CertificateStatus = CustomDomainCertificateStatus


def _target() -> str:
    return settings.IMGWIRE_CUSTOM_DOMAIN_CNAME_TARGET


def _hostname(text: str) -> str:
    try:
        hostname = normalise_hostname(text)
    except InvalidHostname as error:
        raise Refusal(refusals.INVALID_VALUE, str(error), field="hostname") from None
    if is_own_host(hostname):
        raise Refusal(
            refusals.INVALID_VALUE,
            f"{hostname} is one of this install's own host names",
            field="hostname",
        )
    return hostname


def _taken(hostname: str) -> Refusal:
    return Refusal(
        refusals.CONFLICT,
        f"{hostname} is already the custom domain of another environment; a host name can "
        "serve only one environment (delete it there first).",
    )


def custom_domain_get(environment) -> CustomDomain:
    domain = CustomDomain.objects.for_environment(environment).first()
    if domain is None:
        raise Refusal(
            refusals.NOT_FOUND,
            "This environment has no custom domain; create one with POST /api/v1/custom_domain/.",
        )
    return domain


@transaction.atomic
def custom_domain_create(*, environment, hostname: str) -> CustomDomain:
    # 402 on a plan without custom domains, or while the organization is not in good
    # standing (blocked, subscription inactive).
    check_custom_domain_allowed(environment.organization)
    hostname = _hostname(hostname)
    # Serialises creations per environment (PostgreSQL row lock; SQLite's IMMEDIATE
    # transactions already serialise), so "one per environment" holds under concurrency.
    list(Environment.objects.select_for_update().filter(pk=environment.pk).values_list("pk"))
    existing = CustomDomain.objects.for_environment(environment).first()
    if existing is not None:
        raise Refusal(
            refusals.CONFLICT,
            f"This environment already has the custom domain {existing.hostname}; "
            "delete it first to use another host name.",
        )
    if CustomDomain.objects.filter(hostname=hostname).exists():
        raise _taken(hostname)
    domain = CustomDomain(
        environment=environment,
        hostname=hostname,
        dcv_label=secrets.token_hex(16),
        status_reason=(
            f"Create the DNS record {hostname} CNAME {_target()}, then call "
            "POST /api/v1/custom_domain/test_connection."
        ),
    )
    try:
        with transaction.atomic():
            domain.save(force_insert=True)
    except IntegrityError:
        # Another environment inserted the same host name between our check and insert.
        raise _taken(hostname) from None
    return domain


@transaction.atomic
def custom_domain_delete(*, environment):
    """Deleting stops delivery on the host at once; cdn_url falls back to the CDN URL."""
    domain = custom_domain_get(environment)
    domain_id = domain.id
    domain.delete()
    return domain_id


@dataclass(frozen=True)
class RoutingCheck:
    status: str | None  # CONNECTED or FAILED; None when DNS gave no conclusive answer
    reason: str


def check_routing_cname(resolver: Resolver, hostname: str, target: str) -> RoutingCheck:
    """Follow the CNAME chain from ``hostname`` hop by hop until it reaches ``target``."""
    name = hostname
    for _ in range(MAX_CNAME_HOPS):
        try:
            next_name = resolver.cname(name)
        except LookupFailed as error:
            return RoutingCheck(
                None, f"The DNS lookup of {name} did not complete ({error}); try again."
            )
        except NoSuchName:
            next_name, why = None, "which does not exist (NXDOMAIN)"
        else:
            why = "which has no CNAME record"
        if next_name == target:
            return RoutingCheck(Status.CONNECTED, f"{hostname} is a CNAME for {target}.")
        if next_name is None:
            if name == hostname:
                return RoutingCheck(
                    Status.FAILED,
                    f"{hostname} has no CNAME record ({why.removeprefix('which ')}); create "
                    f"the record {hostname} CNAME {target} (A/AAAA records do not count).",
                )
            return RoutingCheck(
                Status.FAILED,
                f"{hostname} points at {name}, {why}, not at {target}; change the CNAME "
                f"record of {hostname} to {target}.",
            )
        name = next_name
    return RoutingCheck(
        Status.FAILED,
        f"The CNAME chain of {hostname} is longer than {MAX_CNAME_HOPS} hops or loops; "
        f"point {hostname} directly at {target}.",
    )


def _certificate_status(domain, routing: RoutingCheck, resolver, probe) -> tuple[str, str]:
    """(certificate_status, sentence): ACTIVE only on a verified handshake (domains/tls.py)."""
    was_active = domain.certificate_status == CertificateStatus.ACTIVE
    if routing.status != Status.CONNECTED:
        if was_active:
            return (
                CertificateStatus.FAILING,
                "The host no longer leads to this install, so its certificate is not served.",
            )
        return CertificateStatus.PENDING, ""
    result = probe.check(domain.hostname, resolver.addresses(_target()))
    if result.result is Certificate.VALID:
        return CertificateStatus.ACTIVE, f"HTTPS on {domain.hostname} has a valid certificate."
    if result.result is Certificate.INVALID:
        return (
            CertificateStatus.FAILING,
            f"The certificate served for {domain.hostname} is not valid for it ({result.detail}).",
        )
    if was_active:
        return CertificateStatus.FAILING, f"HTTPS on {domain.hostname} stopped answering."
    return (
        CertificateStatus.PENDING,
        f"No certificate is served for {domain.hostname} yet; it is issued once the domain "
        "is connected, so test again in a few minutes.",
    )


def custom_domain_test_connection(
    *, environment, resolver: Resolver | None = None, probe: CertificateProbe | None = None
) -> CustomDomain:
    """Resolve DNS for real and record the outcome (FAILED unless the CNAME is right).

    An inconclusive lookup (timeout, SERVFAIL) proves nothing: it leaves a CONNECTED domain
    connected, rather than taking a working host offline for a resolver hiccup, and it
    does not count as a verification.
    """
    resolver = resolver or Resolver()
    probe = probe or CertificateProbe()
    domain = custom_domain_get(environment)
    routing = check_routing_cname(resolver, domain.hostname, _target())
    now = timezone.now()
    if routing.status is None and domain.is_connected:
        changes = {"status_reason": f"{routing.reason} The domain stays CONNECTED meanwhile."}
    else:
        certificate_status, sentence = _certificate_status(domain, routing, resolver, probe)
        changes = {
            "status": routing.status or Status.FAILED,
            "certificate_status": certificate_status,
            "last_verified_at": now,
            "status_reason": f"{routing.reason} {sentence}".strip(),
        }
    changes["status_reason"] = changes["status_reason"][:MAX_REASON_LENGTH]
    changes["updated_at"] = now  # update() skips auto_now
    updated = CustomDomain.objects.filter(pk=domain.pk).update(**changes)
    if not updated:
        raise Refusal(
            refusals.NOT_FOUND, "The custom domain was deleted while it was being tested."
        )
    for field, value in changes.items():
        setattr(domain, field, value)
    return domain
