"""A delivery's message sends a batch: its delivery and the others due to the same
subscription, stopping at the first failure; what a process recorded, it does not query
for again (environments/webhooks/batches.py)."""

from datetime import timedelta

from django.utils import timezone

from environments.webhooks.batches import deliveries_claim, recorded
from environments.webhooks.models import Attempt, Delivery
from environments.webhooks.services import subscription_create, webhook_event_record
from environments.webhooks.tasks import deliveries_attempt


def _events(owner, count):
    for n in range(count):
        webhook_event_record(environment=owner.environment, type="image.ready", payload={"n": n})


def test_one_message_delivers_every_due_delivery_of_its_subscription_in_one_batch(
    owner, receiver, loopback_allowed
):
    subscription_create(environment=owner.environment, url=receiver.url("/a"))
    other, _ = subscription_create(environment=owner.environment, url=receiver.url("/b"))
    _events(owner, 3)
    first = Delivery.objects.exclude(subscription=other).order_by("next_attempt_at").last()
    sent = deliveries_attempt(delivery_id=first.pk)
    assert sent[0].pk == first.pk  # its own delivery first
    assert len(sent) == 3 and {d.subscription_id for d in sent} == {first.subscription_id}
    assert len(receiver.requests) == 3
    assert Delivery.objects.filter(status=Delivery.DELIVERED).count() == 3
    assert Delivery.objects.filter(subscription=other, status=Delivery.PENDING).count() == 3
    assert set(Attempt.objects.values_list("status_code", flat=True)) == {200}


def test_a_batch_stops_at_the_first_failure_and_gives_the_rest_back(
    owner, receiver, loopback_allowed
):
    subscription_create(environment=owner.environment, url=receiver.url())
    _events(owner, 3)
    receiver.statuses = [500]
    sent = deliveries_attempt(delivery_id=Delivery.objects.first().pk)
    assert len(sent) == 1 and len(receiver.requests) == 1
    failed = Delivery.objects.get(pk=sent[0].pk)
    assert failed.attempts == 1 and failed.next_attempt_at > timezone.now()
    rest = Delivery.objects.exclude(pk=failed.pk)
    assert [(d.attempts, d.lease_until) for d in rest] == [(0, None), (0, None)]
    assert Delivery.objects.due(timezone.now()).count() == 2  # due again for their messages


def test_a_delivery_leased_by_another_worker_is_left_out_of_a_batch(
    owner, receiver, loopback_allowed
):
    subscription_create(environment=owner.environment, url=receiver.url())
    _events(owner, 2)
    held, free = Delivery.objects.order_by("next_attempt_at")
    assert [d.pk for d in deliveries_claim(delivery_id=held.pk, now=timezone.now(), limit=1)] == [
        held.pk
    ]
    assert [d.pk for d in deliveries_attempt(delivery_id=held.pk)] == [free.pk]
    assert Delivery.objects.get(pk=held.pk).attempts == 0


def test_a_message_for_an_attempt_this_process_recorded_is_dropped_without_a_query(
    owner, receiver, loopback_allowed, django_assert_num_queries, django_capture_on_commit_callbacks
):
    subscription_create(environment=owner.environment, url=receiver.url())
    _events(owner, 2)
    first, second = Delivery.objects.order_by("next_attempt_at")
    with django_capture_on_commit_callbacks(execute=True):  # remembered once committed
        deliveries_attempt(delivery_id=first.pk, attempt=0)  # the batch takes both
    assert (second.pk, 0) in recorded
    with django_assert_num_queries(0):
        assert deliveries_attempt(delivery_id=second.pk, attempt=0) == []
    # A message for a later attempt (a retry, a send-again) is not known: the claim decides.
    assert (second.pk, 1) not in recorded
    assert len(receiver.requests) == 2


def test_a_delivery_another_worker_leases_after_the_pick_is_left_out_of_the_batch(
    owner, receiver, loopback_allowed
):
    from django.db import connection

    subscription_create(environment=owner.environment, url=receiver.url())
    _events(owner, 3)
    first, taken, last = Delivery.objects.order_by("next_attempt_at")
    state = {"picked": False}

    def another_worker_between(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if sql.startswith("SELECT id FROM") and not state["picked"]:
            state["picked"] = True  # the candidates are read: another worker leases one
            Delivery.objects.filter(pk=taken.pk).update(
                lease_until=timezone.now() + timedelta(minutes=1)
            )
        return result

    with connection.execute_wrapper(another_worker_between):
        batch = deliveries_claim(delivery_id=first.pk, now=timezone.now())
    assert state["picked"]
    assert [d.pk for d in batch] == [first.pk, last.pk]
    assert [d.attempts for d in batch] == [0, 0]
