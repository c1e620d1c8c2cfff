"""Delivery usage counted in Redis (installs whose broker is Redis): nothing waits in a
web process's memory, so a kill -9 loses no count.

Per request: one EVALSHA of a small script that HINCRBYs the request's measures in one
hash, ``imgwire:usage:pending``, fields ``<environment>|<YYYYMMDDHH>|<measure>``. One
round trip on the connection pool, no database write.

Flush (any process, every IMGWIRE_USAGE_FLUSH_SECONDS): RENAME the pending hash to a
unique handoff key (atomic: increments that arrive after it start a new pending hash),
then for every handoff key, this one and any a dead flusher left behind: HGETALL, merge it
in one database transaction that records the key as a ``UsageBatch``, then DEL. A flusher
killed before its commit leaves the key for the next flush; one killed after its commit
leaves a key whose id is recorded, which the next flush deletes without counting it again.
"""

import contextlib
import threading
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime

import redis
from django.conf import settings

PENDING_KEY = "imgwire:usage:pending"
HANDOFF_PREFIX = "imgwire:usage:handoff:"
_MEASURES = ("requests", "transfer_bytes", "cache_hits", "transformations")

# ARGV: the field prefix, then the four counts in _MEASURES order; zeros are not written.
_COUNT = """
local names = {'requests', 'transfer_bytes', 'cache_hits', 'transformations'}
for i = 1, 4 do
  local value = tonumber(ARGV[i + 1])
  if value ~= 0 then redis.call('HINCRBY', KEYS[1], ARGV[1] .. names[i], value) end
end
return 1
"""

_client_lock = threading.Lock()
_client: redis.Redis | None = None
_count_script = None


def _redis():
    global _client, _count_script
    if _client is None:
        with _client_lock:
            if _client is None:
                client = redis.Redis.from_url(
                    # Short: a request waits at most this for Redis before its counts
                    # fall back to memory (metrics/usage.py).
                    settings.IMGWIRE_BROKER_URL,
                    socket_timeout=1,
                    socket_connect_timeout=1,
                )
                _count_script = client.register_script(_COUNT)
                _client = client
    return _client


def record(environment_id: str, hour: datetime, counts: tuple) -> None:
    _redis()
    _count_script(keys=[PENDING_KEY], args=[f"{environment_id}|{hour:%Y%m%d%H}|", *counts])


def _hour_of(label: str) -> datetime:
    if len(label) != 10 or not label.isdigit():  # strptime alone reads 20261302 as Jan 30
        raise ValueError(label)
    return datetime.strptime(label, "%Y%m%d%H").replace(tzinfo=UTC)


def _parse(raw: dict) -> dict[tuple, Counter]:
    batch: dict[tuple, Counter] = defaultdict(Counter)
    for field, value in raw.items():
        try:
            environment_id, hour, measure = field.decode().split("|")
            moment = _hour_of(hour)
            amount = int(value)
        except ValueError:
            continue  # not ours: never let one odd field block the batch
        if measure in _MEASURES:
            batch[(environment_id, moment)][measure] += amount
    return batch


def flush(merge) -> int:
    """Hand the pending hash off and merge every handoff key; returns rows touched."""
    client = _redis()
    with contextlib.suppress(redis.ResponseError):  # no such key: nothing counted since
        client.rename(PENDING_KEY, HANDOFF_PREFIX + uuid.uuid4().hex)
    touched = 0
    for key in list(client.scan_iter(match=HANDOFF_PREFIX + "*", count=1000)):
        touched += merge(key.decode(), _parse(client.hgetall(key)))
        client.delete(key)
    return touched


def discard() -> None:
    client = _redis()
    keys = [PENDING_KEY, *client.scan_iter(match=HANDOFF_PREFIX + "*", count=1000)]
    client.delete(*keys)
