"""Leases on claims: whoever claims a row (a PUT, an image's processing, a zip build)
holds it for IMGWIRE_LEASE_SECONDS, and a heartbeat renews the lease while the work runs.

A process that dies stops renewing, so its claim lapses within one lease and another
process (a client's retry, the reconciler's re-sent message) takes the work over; work
still running keeps its lease and is never doubled. A claim also names its holder
(host:pid), so a claim held by a process of this same machine that no longer exists is
taken over at once, without waiting for the lease.
"""

import contextlib
import itertools
import logging
import os
import socket
import threading
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.utils import timezone

logger = logging.getLogger(__name__)


def lease_holder() -> str:
    """This process, as a claim names it (computed each time: worker processes fork)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}"


def lease_deadline(now=None):
    return (now or timezone.now()) + timedelta(seconds=settings.IMGWIRE_LEASE_SECONDS)


def holder_is_gone(holder: str) -> bool:
    """True only when the holder is a process of this machine that has exited; a holder
    on another machine (or one we cannot judge) is trusted until its lease lapses."""
    host, _, pid = (holder or "").rpartition(":")
    if host != socket.gethostname()[:80] or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


class _Heartbeat:
    """One daemon thread per process renews every lease this process holds, on its own
    database connection, every third of a lease. Work shorter than that never touches
    the database for its lease."""

    def __init__(self):
        self._lock = threading.Lock()
        self._held: dict[int, tuple] = {}
        self._pid = None
        self._wake = threading.Event()
        self._tokens = itertools.count()

    def hold(self, model, pk, match: dict) -> int:
        with self._lock:
            token = next(self._tokens)
            self._held[token] = (model, pk, match)
            if self._pid != os.getpid():  # first use in this (possibly forked) process
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="imgwire-leases", daemon=True).start()
        return token

    def release(self, token: int) -> None:
        with self._lock:
            self._held.pop(token, None)

    def _run(self) -> None:
        while True:
            self._wake.wait(max(settings.IMGWIRE_LEASE_SECONDS / 3, 0.5))
            with self._lock:
                held = list(self._held.values())
            if not held:
                continue
            try:
                close_old_connections()
                deadline = lease_deadline()
                for model, pk, match in held:
                    model.objects.filter(pk=pk, **match).update(lease_expires_at=deadline)
            except Exception:  # the database is away: the lease may lapse, work may double
                logger.exception("could not renew leases")
                with contextlib.suppress(Exception):
                    connection.close()


_heartbeat = _Heartbeat()


@contextlib.contextmanager
def lease_kept(model, pk, **match):
    """Renew ``model``'s ``lease_expires_at`` for row ``pk`` while the block runs, as long
    as the row still matches ``match`` (the claim that was taken)."""
    token = _heartbeat.hold(model, pk, match)
    try:
        yield
    finally:
        _heartbeat.release(token)
