"""The reads and inserts without the ORM's compiler on a real PostgreSQL (the same checks
as tests/test_prebuilt_sql.py), and the delivery batches they serve claimed concurrently:
one delivery is never in two batches (environments/webhooks/batches.py)."""

import threading

import pytest
from django.db import connection
from django.utils import timezone

from environments.webhooks import services
from environments.webhooks.batches import deliveries_claim
from environments.webhooks.models import Delivery
from environments.webhooks.services import subscription_create, webhook_event_record
from tests.test_prebuilt_sql import (  # noqa: F401 (collected here too, on PostgreSQL)
    test_a_joined_read_gives_each_row_as_select_related_does,
    test_a_joined_read_matches_only_the_rows_its_filters_name,
    test_an_environment_without_a_custom_domain_is_read_as_having_none,
    test_inserting_rows_refuses_a_model_whose_key_the_database_assigns,
    test_inserting_rows_stores_what_the_orm_would_with_every_default_applied,
    test_rows_whose_keys_the_database_numbers_are_inserted_without_reading_them_back,
)

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

WORKERS = 6


def test_workers_claiming_batches_at_once_never_share_a_delivery(owner, monkeypatch):
    assert connection.vendor == "postgresql"
    # No messages: the worker processes an earlier test of this pass started would take
    # the deliveries too (and fail them against a name that does not resolve here).
    monkeypatch.setattr(services, "delivery_send_on_commit", lambda *args, **kwargs: None)
    subscription_create(environment=owner.environment, url="https://hooks.example.com/h")
    for n in range(120):
        webhook_event_record(environment=owner.environment, type="image.ready", payload={"n": n})
    ids = list(Delivery.objects.values_list("pk", flat=True))
    start, claimed, errors = threading.Barrier(WORKERS), [], []

    def worker(offset: int) -> None:
        try:
            start.wait()
            # Each worker starts from its own message's delivery, as messages arrive.
            for delivery_id in ids[offset::WORKERS]:
                batch = deliveries_claim(delivery_id=delivery_id, now=timezone.now(), limit=7)
                claimed.extend(d.pk for d in batch)
        except Exception as error:  # reported below: a thread's exception is otherwise lost
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(claimed) == len(set(claimed)), "a delivery was leased by two workers"
    assert set(claimed) == set(ids)  # every delivery was claimed by someone
    assert not Delivery.objects.filter(lease_until__isnull=True).exists()
