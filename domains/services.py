"""State changes of CORS origins: one function each; views and anything else call these."""

from django.db import IntegrityError, transaction

from domains.cors import InvalidPattern, canonical_pattern
from domains.models import CorsOrigin
from environments.models import Environment
from imgwire_site import domain
from imgwire_site.domain import Refusal

# Enough for every real deployment we know of; wildcards cover fleets of subdomains. The
# cap also bounds the per-request matching work of Client-Key calls.
MAX_CORS_ORIGINS_PER_ENVIRONMENT = 100


def _canonical(pattern: str) -> str:
    try:
        return canonical_pattern(pattern)
    except InvalidPattern as error:
        raise Refusal(domain.INVALID_VALUE, str(error), field="pattern") from None


def _lock_environment(environment) -> None:
    # Serialises changes per environment so the cap and the duplicate check hold under
    # concurrency (PostgreSQL row lock; SQLite's IMMEDIATE transactions already serialise).
    list(Environment.objects.select_for_update().filter(pk=environment.pk).values_list("pk"))


def _duplicate(pattern: str) -> Refusal:
    return Refusal(domain.CONFLICT, f"This environment already has the CORS origin {pattern}.")


def _get(environment, cors_origin_id) -> CorsOrigin:
    cors_origin = CorsOrigin.objects.for_environment(environment).filter(id=cors_origin_id).first()
    if cors_origin is None:
        raise Refusal(
            domain.NOT_FOUND, f"CORS origin {cors_origin_id} was not found in this environment."
        )
    return cors_origin


def _save(cors_origin: CorsOrigin, **kwargs) -> CorsOrigin:
    try:
        with transaction.atomic():
            cors_origin.save(**kwargs)
    except IntegrityError:
        # Only reachable if something bypassed the lock (e.g. a raw insert): same answer.
        raise _duplicate(cors_origin.pattern) from None
    return cors_origin


@transaction.atomic
def cors_origin_create(*, environment, pattern: str) -> CorsOrigin:
    canonical = _canonical(pattern)
    _lock_environment(environment)
    existing = CorsOrigin.objects.for_environment(environment)
    if existing.filter(pattern=canonical).exists():
        raise _duplicate(canonical)
    if existing.count() >= MAX_CORS_ORIGINS_PER_ENVIRONMENT:
        raise Refusal(
            domain.CONFLICT,
            f"This environment already has {MAX_CORS_ORIGINS_PER_ENVIRONMENT} CORS origins, "
            "the most allowed; delete one, or cover several hosts with a wildcard like "
            "*.example.com.",
            limit=MAX_CORS_ORIGINS_PER_ENVIRONMENT,
        )
    return _save(CorsOrigin(environment=environment, pattern=canonical), force_insert=True)


@transaction.atomic
def cors_origin_update(*, environment, cors_origin_id, pattern: str) -> CorsOrigin:
    canonical = _canonical(pattern)
    _lock_environment(environment)
    cors_origin = _get(environment, cors_origin_id)
    if cors_origin.pattern == canonical:
        return cors_origin
    taken = CorsOrigin.objects.for_environment(environment).filter(pattern=canonical)
    if taken.exists():
        raise _duplicate(canonical)
    cors_origin.pattern = canonical
    return _save(cors_origin, update_fields=["pattern", "updated_at"])


@transaction.atomic
def cors_origin_delete(*, environment, cors_origin_id) -> None:
    """An unknown id (or another environment's) is a 404, so a repeated delete is one too."""
    _get(environment, cors_origin_id).delete()
