"""The plan's upload limit, held under concurrency: one slot per image record created.

``check_upload_allowed`` (environments/quotas.py) reads usage and explains a refusal, but
two requests can both read "one left". The slot taken here is the guard: a conditional
``UPDATE … SET used = used + 1 WHERE used < limit`` on the organization's counter row for
the period, run inside the transaction that inserts the image. PostgreSQL re-evaluates the
WHERE of a waiting UPDATE against the row the first one committed, so of N requests racing
for the last slot exactly one changes a row; the others answer 402. The row lock lasts
from that UPDATE to the commit of the image INSERT (milliseconds), and it is per
organization and period, not a lock on the environment's images. SQLite serialises
writers anyway.

Semantics are docs/quotas.md's: a slot is an image record created in the period; deleting
an image does not give it back; a record removed because it never got its bytes
(abandoned uploads, a failed ``upload_via_url``) does, through ``upload_slot_release``.
"""

from django.db import IntegrityError, transaction
from django.db.models import F

from environments.models import UploadQuotaCounter
from environments.quotas import quota_period_of, upload_limit_sentence, upload_usage
from imgwire_site import domain
from imgwire_site.domain import Refusal


def _counters(organization, period):
    return UploadQuotaCounter.objects.filter(
        organization=organization, period_start=period.start, period_end=period.end
    )


def _counter_create(organization, period) -> None:
    """Start the period's counter from the records the period already holds.

    Two first uploads of a period may both get here: the unique constraint lets one insert
    win (the other waits for its commit, then gets IntegrityError); the loser's count is
    discarded and it retries the conditional UPDATE on the winner's row.
    """
    used = upload_usage(organization, period, ("uploads",))["uploads"]
    try:
        with transaction.atomic():  # a savepoint: the caller's transaction survives
            UploadQuotaCounter.objects.create(
                organization=organization,
                period_start=period.start,
                period_end=period.end,
                used=used,
            )
    except IntegrityError:
        pass


def upload_slot_reserve(environment) -> None:
    """Take one upload slot of the current period, or raise 402. Call it inside the
    transaction that creates the image record, so a failed insert gives the slot back by
    rolling back."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("upload_slot_reserve must run in the image's transaction")
    organization = environment.organization
    plan = organization.billing_plan
    limit = plan.upload_limit if plan is not None else None
    period = quota_period_of(organization)
    counters = _counters(organization, period)
    if limit is None:
        # Unlimited: nothing to guard. A counter started earlier in the period (the plan
        # had a limit) is kept exact, so a limit set again later finds the right count;
        # without one this UPDATE matches no row and writes nothing.
        counters.update(used=F("used") + 1)
        return
    for _attempt in range(2):
        if counters.filter(used__lt=limit).update(used=F("used") + 1) == 1:
            return
        used = counters.values_list("used", flat=True).first()
        if used is not None:
            raise Refusal(
                domain.QUOTA_EXCEEDED,
                upload_limit_sentence(used, limit, plan, period),
                limit=limit,
            )
        _counter_create(organization, period)
    raise RuntimeError("the upload counter could be neither created nor read")


def upload_slot_release(*, organization_id, created_at) -> None:
    """Give back the slot of a record removed before it received its bytes.

    The slot belongs to the latest counter whose period holds the record's creation time
    (an operator's period reset starts a new row; the old one keeps its own count).
    """
    counter = (
        UploadQuotaCounter.objects.filter(
            organization_id=organization_id,
            period_start__lte=created_at,
            period_end__gt=created_at,
        )
        .order_by("-period_start")
        .values_list("pk", flat=True)
        .first()
    )
    if counter is not None:
        UploadQuotaCounter.objects.filter(pk=counter, used__gt=0).update(used=F("used") - 1)


def upload_slots_used(organization) -> int | None:
    """The current period's counter, or None before the period's first counted upload."""
    return (
        _counters(organization, quota_period_of(organization))
        .values_list("used", flat=True)
        .first()
    )
