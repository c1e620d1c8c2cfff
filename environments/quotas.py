"""Plan limits and subscription standing: the checks that refuse with quota_exceeded or
account_inactive (imgwire_site/domain.py; 402 PaymentRequiredError in the Resource API).

Reads only (the upload limit's atomic slot is environments/upload_quota.py). Each check
costs at most one aggregate query, and none at all when the plan has no limit for what is
being checked (a fresh install's Unlimited plan), so the delivery path of an unlimited
organization stays at its single image lookup. Delivery usage comes from the hourly rows
merged by metrics/usage.py, so it lags the requests by up to IMGWIRE_USAGE_FLUSH_SECONDS;
enforcement is approximate by that much (docs/quotas.md).
"""

import calendar
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import reduce
from operator import or_

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from environments.models import EnforcementMode, Organization, SubscriptionStatus
from imgwire_site import domain
from imgwire_site.domain import Refusal

# PAST_DUE keeps working: it is the grace period while a payment is retried. The billing
# side (or an operator) moves the organization to CANCELED or blocks it when that ends.
INACTIVE_STATUSES = frozenset({SubscriptionStatus.INACTIVE, SubscriptionStatus.CANCELED})

# When several exceeded quotas apply, the strictest mode wins.
_STRICTNESS = {
    EnforcementMode.SERVE_ALL: 0,
    EnforcementMode.SERVE_CACHED_ONLY: 1,
    EnforcementMode.BLOCK_ALL: 2,
}


@dataclass(frozen=True)
class QuotaPeriod:
    start: datetime  # inclusive
    end: datetime  # exclusive

    @property
    def end_label(self) -> str:
        end = self.end.astimezone(UTC)
        if end.time() == datetime.min.time():
            return end.date().isoformat()
        return f"{end:%Y-%m-%d %H:%M} UTC"


def add_one_month(moment: datetime) -> datetime:
    """The same day and time next month, clamped to that month's last day (Jan 31 → Feb 28)."""
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def calendar_month(now: datetime) -> QuotaPeriod:
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return QuotaPeriod(start, add_one_month(start))


def quota_period_of(organization: Organization, now: datetime | None = None) -> QuotaPeriod:
    """The organization's stored period while ``now`` lies inside it; otherwise (unset,
    ended, or not begun) the current calendar month in UTC."""
    now = now or timezone.now()
    start = organization.current_quota_period_start_at
    end = organization.current_quota_period_end_at
    if start is not None and end is not None and start <= now < end:
        return QuotaPeriod(start, end)
    return calendar_month(now)


# --- usage ------------------------------------------------------------------------------


def _aggregate(queryset, measures: dict[str, tuple[Q, str | None]]) -> dict[str, int]:
    """One query for several measures: ``{name: (condition, summed field or None to count)}``.

    The WHERE clause is the union of the conditions, so a single measure (the usual case:
    a plan limits one or two things) uses the plain index-friendly filter.
    """
    if not measures:
        return {}
    where = reduce(or_, (condition for condition, _ in measures.values()))
    aggregates = {
        name: Coalesce(Sum(field, filter=condition), 0) if field else Count("pk", filter=condition)
        for name, (condition, field) in measures.items()
    }
    return queryset.filter(where).aggregate(**aggregates)


def upload_usage(
    organization: Organization, period: QuotaPeriod, measures=("uploads", "storage", "pending")
) -> dict[str, int]:
    """Images of all the organization's environments.

    uploads: records created in the period, deleted ones included (deleting does not give
    an upload back; abandoned records removed by maintenance stop counting).
    storage: bytes of READY originals not deleted. pending: records waiting for bytes,
    the same condition as ``Image.objects.pending_uploads()``.
    """
    from images.models import Image, ImageStatus

    conditions = {
        "uploads": (Q(created_at__gte=period.start, created_at__lt=period.end), None),
        "storage": (Q(status=ImageStatus.READY, deleted_at__isnull=True), "size_bytes"),
        "pending": (
            Q(status=ImageStatus.PENDING, bytes_received_at__isnull=True, deleted_at__isnull=True),
            None,
        ),
    }
    return _aggregate(
        Image.objects.filter(environment__organization=organization),
        {name: conditions[name] for name in measures},
    )


def delivery_usage(organization: Organization, period: QuotaPeriod) -> dict[str, int]:
    """Transformations and transfer bytes of the hourly rows inside the period.

    Rows are whole UTC hours: a period that starts mid-hour (a reset at 14:23) counts from
    the next hour, so a fresh period never starts out over quota.
    """
    from metrics.models import DeliveryUsageHour

    rows = DeliveryUsageHour.objects.filter(environment__organization=organization).in_hours(
        period.start, period.end
    )
    return _aggregate(
        rows,
        {
            "transformations": (Q(), "transformations"),
            "transfer_bytes": (Q(), "transfer_bytes"),
        },
    )


# Delivery asks for usage on every request of a limited organization; the rows change only
# every IMGWIRE_USAGE_FLUSH_SECONDS, so each process keeps the answer that long. Keyed by
# the period, so starting a new period takes effect at once.
_usage_cache: dict[tuple, tuple[float, dict[str, int]]] = {}
_usage_cache_lock = threading.Lock()
_USAGE_CACHE_MAX_ENTRIES = 10_000


def _cached_delivery_usage(organization: Organization, period: QuotaPeriod) -> dict[str, int]:
    key = (organization.pk, period.start, period.end)
    now = time.monotonic()
    cached = _usage_cache.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    usage = delivery_usage(organization, period)
    with _usage_cache_lock:
        if len(_usage_cache) >= _USAGE_CACHE_MAX_ENTRIES:
            _usage_cache.clear()
        _usage_cache[key] = (now + settings.IMGWIRE_USAGE_FLUSH_SECONDS, usage)
    return usage


def forget_cached_usage() -> None:
    """Drop the per-process delivery usage answers (tests, or after editing usage rows)."""
    with _usage_cache_lock:
        _usage_cache.clear()


# --- wording ----------------------------------------------------------------------------


def _size(value: int) -> str:
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= scale:
            return f"{value} bytes ({value / scale:.1f} {unit})"
    return f"{value} bytes"


def _used(what: str, used: int, limit: int, plan, period: QuotaPeriod) -> str:
    return (
        f"This organization has used {used} of the {limit} {what} of the {plan.name} plan "
        f"for the period ending {period.end_label}"
    )


def upload_limit_sentence(used: int, limit: int, plan, period: QuotaPeriod) -> str:
    return _used("uploads", used, limit, plan, period) + (
        "; upgrade the plan or wait for the next period."
    )


# --- checks -----------------------------------------------------------------------------


def check_organization_in_good_standing(organization: Organization) -> None:
    """402 while the organization is blocked or its subscription is inactive. No query."""
    if organization.blocked:
        raise Refusal(
            domain.ACCOUNT_INACTIVE,
            "This organization is blocked, so its images can be neither uploaded nor "
            "delivered; ask the operator of this Imgwire install to unblock it.",
        )
    if organization.subscription_status in INACTIVE_STATUSES:
        raise Refusal(
            domain.ACCOUNT_INACTIVE,
            f"This organization's subscription is {organization.subscription_status}; "
            "activate a subscription (or ask the operator of this install) to continue.",
        )


def upload_limits(plan) -> dict[str, int | None]:
    """The plan's limits on uploads, by the measure names ``upload_usage`` counts."""
    return {
        "pending": plan.maximum_pending_uploads,
        "uploads": plan.upload_limit,
        "storage": plan.storage_bytes_limit,
    }


def check_upload_allowed(environment, *, incoming_bytes: int | None = None) -> None:
    """Before an image record is created: standing, pending uploads, uploads per period,
    storage (with ``incoming_bytes`` when the size is declared)."""
    organization = environment.organization
    check_organization_in_good_standing(organization)
    plan = organization.billing_plan
    if plan is None:
        return
    limits = upload_limits(plan)
    measures = tuple(name for name, limit in limits.items() if limit is not None)
    if not measures:
        return
    period = quota_period_of(organization)
    usage = upload_usage(organization, period, measures)
    if "pending" in usage and usage["pending"] >= limits["pending"]:
        raise Refusal(
            domain.QUOTA_EXCEEDED,
            f"This organization has {usage['pending']} of the {limits['pending']} pending "
            f"uploads of the {plan.name} plan (uploads still waiting for their bytes); "
            "finish or abandon some, or upgrade the plan, then retry.",
            limit=limits["pending"],
        )
    if "uploads" in usage and usage["uploads"] >= limits["uploads"]:
        raise Refusal(
            domain.QUOTA_EXCEEDED,
            upload_limit_sentence(usage["uploads"], limits["uploads"], plan, period),
            limit=limits["uploads"],
        )
    if "storage" in usage:
        stored, limit = usage["storage"], limits["storage"]
        if stored >= limit:
            raise Refusal(
                domain.QUOTA_EXCEEDED,
                f"This organization stores {_size(stored)} of the {_size(limit)} of storage "
                f"of the {plan.name} plan; delete images or upgrade the plan.",
                limit=limit,
            )
        if incoming_bytes is not None and stored + incoming_bytes > limit:
            raise Refusal(
                domain.QUOTA_EXCEEDED,
                f"This upload of {_size(incoming_bytes)} would bring this organization's "
                f"storage to {_size(stored + incoming_bytes)}, over the {_size(limit)} of the "
                f"{plan.name} plan; delete images or upgrade the plan.",
                limit=limit,
            )


def check_custom_domain_allowed(organization: Organization) -> None:
    """Before a custom domain is created."""
    check_organization_in_good_standing(organization)
    plan = organization.billing_plan
    if plan is not None and not plan.custom_domain_enabled:
        raise Refusal(
            domain.QUOTA_EXCEEDED,
            f"The {plan.name} plan does not include custom domains; upgrade the plan to add one.",
        )


def check_member_limit(organization: Organization, *, joining: bool = False) -> None:
    """Before a member is invited or added (``joining``: an invitee accepting, whose seat
    was checked at the invitation but may have been taken since): one more member must
    fit the plan."""
    check_organization_in_good_standing(organization)
    plan = organization.billing_plan
    if plan is None or (plan.teams_enabled and plan.team_member_limit is None):
        return
    members = organization.memberships.count()
    if not plan.teams_enabled and members >= 1:
        raise Refusal(
            domain.QUOTA_EXCEEDED,
            f"The {plan.name} plan does not include teams; upgrade the plan to invite members.",
        )
    if plan.team_member_limit is not None and members >= plan.team_member_limit:
        advice = (
            "ask an owner to remove a member or upgrade the plan, then open this link again "
            "(it stays valid until it expires)"
            if joining
            else "remove a member or upgrade the plan to invite another"
        )
        raise Refusal(
            domain.QUOTA_EXCEEDED,
            f"This organization has {members} of the {plan.team_member_limit} team members "
            f"of the {plan.name} plan; {advice}.",
        )


def _exceeded_delivery_quota(organization: Organization):
    """(mode, sentence) of the strictest exceeded quota whose mode restricts anything."""
    plan = organization.billing_plan
    if plan is None:
        return None
    enforced = [
        (what, limit, mode)
        for what, limit, mode in (
            (
                "transformations",
                plan.transformations_limit,
                organization.transformations_enforcement_mode,
            ),
            (
                "transfer_bytes",
                plan.transfer_bytes_limit,
                organization.transfer_bytes_enforcement_mode,
            ),
        )
        if limit is not None and mode != EnforcementMode.SERVE_ALL
    ]
    if not enforced:  # the unlimited and the lenient cases cost no query
        return None
    period = quota_period_of(organization)
    usage = _cached_delivery_usage(organization, period)
    worst = None
    for what, limit, mode in enforced:
        used = usage[what]
        if used < limit:
            continue
        if what == "transformations":
            sentence = _used("transformations", used, limit, plan, period)
        else:
            sentence = (
                f"This organization has delivered {_size(used)} of the {_size(limit)} of "
                f"transfer of the {plan.name} plan for the period ending {period.end_label}"
            )
        if worst is None or _STRICTNESS[mode] > _STRICTNESS[worst[0]]:
            worst = (mode, sentence)
    return worst


def check_delivery_allowed(organization: Organization, *, is_cached: Callable[[], bool]) -> None:
    """Before delivery bytes are produced. ``organization.billing_plan`` should already be
    loaded (select_related); ``is_cached()`` (a storage lookup) is called only when an
    exceeded quota's mode is SERVE_CACHED_ONLY."""
    check_organization_in_good_standing(organization)
    exceeded = _exceeded_delivery_quota(organization)
    if exceeded is None:
        return
    mode, sentence = exceeded
    if mode == EnforcementMode.BLOCK_ALL:
        raise Refusal(
            domain.QUOTA_EXCEEDED,
            f"{sentence}; delivery is paused until the next period or a plan upgrade.",
        )
    if not is_cached():
        raise Refusal(
            domain.QUOTA_EXCEEDED,
            f"{sentence}; only images already rendered are served until the next period or "
            "a plan upgrade.",
        )
