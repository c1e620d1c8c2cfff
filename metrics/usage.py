"""Delivery usage events, counted in memory and merged into hourly rows in batches.

One delivery request costs a dictionary update, not a database write. A background thread
merges the counters every IMGWIRE_USAGE_FLUSH_SECONDS with one upsert per (environment,
hour); a process that dies loses at most that interval's counts (documented in
docs/api.md; the metrics issue moves this to the broker for none).
"""

import atexit
import contextlib
import logging
import threading
from collections import Counter, defaultdict
from datetime import UTC, datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

logger = logging.getLogger(__name__)
_lock = threading.Lock()
_pending: dict[tuple, Counter] = defaultdict(Counter)
_flusher: threading.Thread | None = None


def _hour(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def record_delivery(environment_id, *, bytes_sent: int, cache_hit: bool, rendered: bool) -> None:
    if not settings.IMGWIRE_USAGE_COUNTING:
        return
    key = (str(environment_id), _hour(datetime.now(UTC)))
    with _lock:
        counts = _pending[key]
        counts["requests"] += 1
        counts["transfer_bytes"] += bytes_sent
        counts["cache_hits"] += int(cache_hit)
        counts["transformations"] += int(rendered)
    _ensure_flusher()


def flush_usage() -> int:
    """Merge the buffered counters into DeliveryUsageHour; returns the rows touched."""
    from metrics.models import DeliveryUsageHour

    with _lock:
        batch = dict(_pending)
        _pending.clear()
    for (environment_id, hour), counts in batch.items():
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


def discard_pending() -> None:
    """Forget unmerged counts (tests start from a clean slate)."""
    with _lock:
        _pending.clear()


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

        _flusher = threading.Thread(target=loop, name="imgwire-usage", daemon=True)
        _flusher.start()
        atexit.register(_flush_quietly)


def _flush_quietly() -> None:
    # At interpreter exit the database or even logging may already be gone; the counts of
    # this last interval are then lost, as documented.
    with contextlib.suppress(Exception):
        flush_usage()
