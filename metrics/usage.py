"""Delivery usage events, counted per request and merged into hourly rows in batches.

One delivery request never costs a database write. Where a request's counts wait until
they are merged depends on the install (docs/metrics.md, "Counting"):

- Redis as the broker (``IMGWIRE_BROKER_URL=redis://…``): one HINCRBY script in Redis per
  request, before the response is sent (metrics/usage_redis.py). Survives a kill -9 of
  any web process.
- RabbitMQ as the broker: one append to this process's spool file on local disk, before
  the response is sent (metrics/usage_spool.py). Survives a kill -9 (the bytes are in the
  kernel's page cache); the next flush on that machine adopts the dead process's file.
- The embedded default: a dictionary in process memory. A process that dies loses the
  counts of its last interval, as documented.

A background thread in each process that counts merges every IMGWIRE_USAGE_FLUSH_SECONDS:
one upsert per (environment, hour) of the batch, inside one transaction that also records
the batch's id (``UsageBatch``), so a batch handed off and merged is never merged twice.
"""

import atexit
import contextlib
import logging
import threading
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_pending: dict[tuple, Counter] = defaultdict(Counter)
_flusher: threading.Thread | None = None
_last_failure_logged = 0.0
_durable_down_until = 0.0
# After the durable store fails, requests count in memory this long before trying it again.
DURABLE_RETRY_SECONDS = 5.0

MEASURES = ("requests", "transfer_bytes", "cache_hits", "transformations")
# A merged batch's id is kept this long: far longer than any handoff waits to be merged.
BATCH_IDS_KEPT = timedelta(days=7)


def _hour(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def counting_backend() -> str:
    """Where counts wait until merged ("redis", "spool" or "memory"): set by the broker."""
    url = settings.IMGWIRE_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        return "redis"
    if url.startswith(("amqp://", "amqps://")):
        return "spool"
    return "memory"


def record_delivery(environment_id, *, bytes_sent: int, cache_hit: bool, rendered: bool) -> None:
    if not settings.IMGWIRE_USAGE_COUNTING:
        return
    environment_id, hour = str(environment_id), _hour(datetime.now(UTC))
    counts = (1, bytes_sent, int(cache_hit), int(rendered))
    backend = counting_backend()
    if backend != "memory" and time.monotonic() < _durable_down_until:
        backend = "memory"  # the store failed moments ago: do not make every request wait
    try:
        if backend == "redis":
            from metrics import usage_redis

            usage_redis.record(environment_id, hour, counts)
        elif backend == "spool":
            from metrics import usage_spool

            usage_spool.record(environment_id, hour, counts)
        else:
            _record_in_memory(environment_id, hour, counts)
    except Exception:
        # Delivery must not fail because counting does: keep the counts in memory until
        # the durable store answers again (only those counts are then at risk).
        _durable_down(f"could not count delivery usage in {backend}; buffering in memory")
        _record_in_memory(environment_id, hour, counts)
    _ensure_flusher()


def _record_in_memory(environment_id: str, hour: datetime, counts: tuple) -> None:
    with _lock:
        pending = _pending[(environment_id, hour)]
        for measure, value in zip(MEASURES, counts, strict=True):
            pending[measure] += value


def _durable_down(message: str) -> None:
    global _last_failure_logged, _durable_down_until
    now = time.monotonic()
    _durable_down_until = now + DURABLE_RETRY_SECONDS
    if now - _last_failure_logged > 60:  # once a minute, not once per request
        _last_failure_logged = now
        logger.exception(message)


def flush_usage() -> int:
    """Merge every counted batch this process can reach; returns the (environment, hour)
    rows touched. Durable batches left by dead processes are merged too."""
    with _lock:
        batch = dict(_pending)
        _pending.clear()
    touched = merge_batch(None, batch)
    backend = counting_backend()
    if backend == "redis":
        from metrics import usage_redis

        touched += usage_redis.flush(merge_batch)
    elif backend == "spool":
        from metrics import usage_spool

        touched += usage_spool.flush(merge_batch)
    if backend != "memory":
        _forget_old_batch_ids()
    return touched


def merge_batch(batch_id: str | None, batch: dict[tuple, Counter]) -> int:
    """Add ``{(environment_id, hour): Counter}`` to the hourly rows, in one transaction.

    With a ``batch_id``, the id is recorded in the same transaction; a batch whose id is
    already there was merged before (by a flusher that died before deleting it, or by
    another process) and is skipped: returns 0.
    """
    from metrics.models import DeliveryUsageHour, UsageBatch

    if not batch:
        return 0
    with transaction.atomic():
        if batch_id is not None:
            try:
                with transaction.atomic():
                    UsageBatch.objects.create(batch_id=batch_id)
            except IntegrityError:
                return 0
        # A fixed order, so two flushers merging overlapping batches lock rows in the same
        # order and cannot deadlock.
        for (environment_id, hour), counts in sorted(batch.items()):
            # An environment deleted since takes its counts with it.
            with contextlib.suppress(IntegrityError):
                _merge(DeliveryUsageHour, environment_id, hour, counts)
    return len(batch)


def _merge(model, environment_id, hour, counts) -> None:
    increments = {field: F(field) + value for field, value in counts.items()}
    with transaction.atomic():
        if model.objects.filter(environment_id=environment_id, hour=hour).update(**increments):
            return
        _, created = model.objects.get_or_create(
            environment_id=environment_id, hour=hour, defaults=dict(counts)
        )
        if not created:  # another process inserted the row first
            model.objects.filter(environment_id=environment_id, hour=hour).update(**increments)


_batch_ids_forgotten_at = 0.0


def _forget_old_batch_ids() -> None:
    global _batch_ids_forgotten_at
    from metrics.models import UsageBatch

    if time.monotonic() - _batch_ids_forgotten_at < 3600:
        return
    _batch_ids_forgotten_at = time.monotonic()
    UsageBatch.objects.filter(merged_at__lt=timezone.now() - BATCH_IDS_KEPT).delete()


def discard_pending() -> None:
    """Forget unmerged counts (tests start from a clean slate)."""
    with _lock:
        _pending.clear()
    backend = counting_backend()
    if backend == "redis":
        from metrics import usage_redis

        usage_redis.discard()
    elif backend == "spool":
        from metrics import usage_spool

        usage_spool.discard()


def _ensure_flusher() -> None:
    global _flusher
    if _flusher is not None:
        return
    with _lock:
        if _flusher is not None:
            return
        interval = settings.IMGWIRE_USAGE_FLUSH_SECONDS

        def loop():
            stop = threading.Event()
            while not stop.wait(interval):
                try:
                    flush_usage()
                except Exception:
                    logger.exception("could not merge delivery usage")
                finally:
                    # This thread's own connection, used a few milliseconds every interval:
                    # held open between flushes it would only pin a server slot (and keep
                    # a test database from being dropped).
                    connection.close()

        _flusher = threading.Thread(target=loop, name="imgwire-usage", daemon=True)
        _flusher.start()
        atexit.register(_flush_quietly)


def _flush_quietly() -> None:
    # At interpreter exit the database or even logging may already be gone; with the
    # memory backend the counts of this last interval are then lost, as documented (the
    # durable backends keep theirs for the next flush).
    with contextlib.suppress(Exception):
        flush_usage()
