"""The one way to enqueue background work: after the surrounding transaction commits.

A message sent inside an open transaction can reach a worker before the rows it names
are visible (or after they were rolled back), so every enqueue goes through here.
"""

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(actor, *args, **kwargs) -> None:
    transaction.on_commit(lambda: actor.send(*args, **kwargs), robust=True)


def send_quietly(actor, *args, delay: int | None = None) -> bool:
    """Send now, reporting (not raising) a broker that is away: the caller keeps the work
    due so that the recovery step sends it again. ``delay`` in milliseconds."""
    try:
        actor.send_with_options(args=args, delay=delay)
    except Exception:
        logger.warning("could not send %s%r; the recovery step retries", actor.actor_name, args)
        return False
    return True
