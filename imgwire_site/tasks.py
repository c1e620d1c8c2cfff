"""The one way to enqueue background work: after the surrounding transaction commits.

A message sent inside an open transaction can reach a worker before the rows it names
are visible (or after they were rolled back), so every enqueue goes through here.
"""

from django.db import transaction


def enqueue_on_commit(actor, *args, **kwargs) -> None:
    transaction.on_commit(lambda: actor.send(*args, **kwargs), robust=True)
