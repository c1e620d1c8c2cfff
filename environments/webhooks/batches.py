"""Sending due deliveries in batches: one message claims its delivery and up to
BATCH_SIZE - 1 others due to the same subscription, posts them one after the other, and
records them together.

Why: a delivery's bookkeeping was ~7 database round trips (claim, read it with its event
and subscription, then a transaction for the attempt row and the delivery's state), which
on this hardware cost ten times the POST itself (docs/benchmarks.md, Webhooks). A batch
makes that two statements to claim and three to record, whatever its size. One
subscription per batch, so a receiver that fails or stalls only holds up deliveries that
were going to the same place; the batch stops at the first failure and gives the rest back.

The messages of the deliveries a batch took still arrive. A process remembers which
(delivery, attempts) it has recorded (``recorded``) and drops those messages without a
query; that memory only saves work: a message it does not know goes through the claim,
which the database decides, so nothing depends on it for correctness.
"""

import threading
from collections import OrderedDict
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction

from imgwire_site.prebuilt_sql import JoinedRead, insert_all, placeholders

from .models import Attempt, Delivery, Subscription
from .services import LEASE_MARGIN, delivery_record_attempt

BATCH_SIZE = 20
# A batch's rows as select_related("event", "subscription") reads them, by SQL built once
# (imgwire_site/prebuilt_sql.py): compiling that query was ~0.6 ms of a batch's CPU.
_WITH_EVENT_AND_SUBSCRIPTION = JoinedRead(Delivery, "event", "subscription")
# Remembered (delivery id, attempts) pairs per process: enough for a burst's messages.
MEMO_SIZE = 20_000


class _Recorded:
    """A bounded, thread-safe set of (delivery id, attempts before the recorded attempt)."""

    def __init__(self, size: int):
        self._size, self._items, self._lock = size, OrderedDict(), threading.Lock()

    def add(self, delivery_id, attempts: int) -> None:
        with self._lock:
            self._items[(str(delivery_id), attempts)] = None
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def __contains__(self, key) -> bool:
        delivery_id, attempts = key
        with self._lock:
            return (str(delivery_id), attempts) in self._items


recorded = _Recorded(MEMO_SIZE)


def lease_length() -> timedelta:
    return timedelta(seconds=settings.IMGWIRE_WEBHOOK_TIMEOUT_SECONDS) + LEASE_MARGIN


_DUE = "status = %s AND next_attempt_at <= %s AND (lease_until IS NULL OR lease_until <= %s)"


def deliveries_claim(*, delivery_id, now, limit: int = BATCH_SIZE) -> list[Delivery]:
    """Lease ``delivery_id`` (if it is due) and up to ``limit - 1`` other due deliveries of
    the same subscription, oldest first; a delivery leased by another worker is never in
    two batches. The lease stands (autocommit) before any POST.

    Three statements: the candidates' ids (due, this subscription, this one first), one
    conditional UPDATE by primary key that leases those still due (another worker may have
    taken some in between; PostgreSQL checks the row's condition again under its row
    lock) and whose RETURNING says which this worker won, then those rows with their event
    and subscription (imgwire_site/prebuilt_sql.py). Why not one UPDATE with the
    candidates as its subquery: after a burst the table's statistics are stale, and
    PostgreSQL joined every due row against the subquery (9.8 ms for 1 200 due rows). Raw
    SQL for the first two: the ORM's update() cannot return rows, and compiling the
    ordered pick cost ~0.5 ms of CPU more than running it; PostgreSQL and SQLite (3.35 and
    later) both run them."""
    table, pk = Delivery._meta.db_table, Delivery._meta.pk
    at = Delivery._meta.get_field("next_attempt_at")
    own = pk.get_db_prep_value(delivery_id, connection)
    when = at.get_db_prep_value(now, connection)
    until = at.get_db_prep_value(now + lease_length(), connection)
    due = [Delivery.PENDING, when, when]
    # Only the model's own table name and one placeholder per id are formatted in; every
    # value is a parameter.
    pick = (
        f"SELECT id FROM {table} WHERE {_DUE}"  # noqa: S608
        f" AND subscription_id = (SELECT subscription_id FROM {table} WHERE id = %s)"
        " ORDER BY CASE WHEN id = %s THEN 0 ELSE 1 END, next_attempt_at LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(pick, [*due, own, own, limit])
        candidates = [row[0] for row in cursor.fetchall()]
        if not candidates:
            return []
        lease = (
            f"UPDATE {table} SET lease_until = %s"  # noqa: S608
            f" WHERE {_DUE} AND id IN ({placeholders(len(candidates))}) RETURNING id"
        )
        cursor.execute(lease, [until, *due, *candidates])
        won = {pk.to_python(row[0]) for row in cursor.fetchall()}
    if not won:
        return []
    batch = {d.pk: d for d in _WITH_EVENT_AND_SUBSCRIPTION.by_pks(won)}
    return [batch[c] for c in map(pk.to_python, candidates) if c in batch]


def deliveries_release(deliveries) -> None:
    """Give back the leases of deliveries a batch claimed but did not attempt: they are due
    again at once, for their own messages or the recovery step."""
    if deliveries:
        Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(lease_until=None)


@transaction.atomic
def deliveries_record(*, sent) -> None:
    """Record the attempts of a batch: ``sent`` is [(delivery, outcome, at)]. The successes
    in bulk (one INSERT of their attempt rows, one UPDATE of their state, the subscription
    row written only when it was failing); a failure through the one-delivery path, which
    schedules its retry and may disable the subscription."""
    attempted = [(d.pk, d.attempts) for d, _, _ in sent]  # before this attempt
    delivered = [(d, o, at) for d, o, at in sent if o.ok]
    # Without the ORM's compiler (imgwire_site/prebuilt_sql.py): the insert and the update
    # compiled cost ~1 ms of a batch's ~3 ms of CPU for recording.
    insert_all(
        [
            Attempt(
                delivery=d,
                at=at,
                status_code=o.status_code,
                latency_ms=o.latency_ms,
                response_excerpt=o.excerpt,
            )
            for d, o, at in delivered
        ],
        without_keys=True,
    )
    if delivered:
        pk = Delivery._meta.pk
        ids = [pk.get_db_prep_value(d.pk, connection) for d, _, _ in delivered]
        # Only the model's own table name and one placeholder per id are formatted in.
        sql = (
            f"UPDATE {Delivery._meta.db_table} SET status = %s, "  # noqa: S608
            "attempts = attempts + 1, lease_until = NULL "
            f"WHERE id IN ({placeholders(len(ids))})"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [Delivery.DELIVERED, *ids])
        failing = {d.subscription_id for d, _, _ in delivered if d.subscription.failing_since}
        if failing:
            Subscription.objects.filter(pk__in=failing).update(failing_since=None)
    for delivery, outcome, at in sent:
        if not outcome.ok:
            delivery_record_attempt(delivery=delivery, outcome=outcome, now=at)
    transaction.on_commit(lambda: [recorded.add(*key) for key in attempted])
    for delivery, _, _ in delivered:  # the objects say what the rows now say
        delivery.status, delivery.lease_until = Delivery.DELIVERED, None
        delivery.attempts += 1
