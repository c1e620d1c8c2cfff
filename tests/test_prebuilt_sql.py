"""Reads and inserts without the ORM's compiler give what the ORM gives
(imgwire_site/prebuilt_sql.py). tests/services runs the same checks on PostgreSQL."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from domains.models import CustomDomain, CustomDomainStatus
from environments.webhooks.models import Attempt, Delivery, Event, Subscription
from environments.webhooks.services import subscription_create
from images.models import Image
from imgwire_site.prebuilt_sql import JoinedRead, insert_all
from tests.environments.test_quotas import stored_image

IMAGES = JoinedRead(Image, "environment", "environment__custom_domain")


def _fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def _same(read, orm) -> None:
    assert _fields(read) == _fields(orm)
    # Same types too: a str where the ORM gives a UUID or a datetime would compare unequal
    # elsewhere.
    assert {k: type(v) for k, v in _fields(read).items()} == {
        k: type(v) for k, v in _fields(orm).items()
    }


def test_a_joined_read_gives_each_row_as_select_related_does(owner, outsider):
    domain = CustomDomain.objects.create(
        environment=owner.environment,
        hostname="img.example.com",
        dcv_label="x" * 32,
        status=CustomDomainStatus.CONNECTED,
    )
    image = stored_image(owner.environment, custom_metadata={"k": "v"}, width=3, height=2)
    plain = stored_image(outsider.environment)
    for found in (image, plain):
        orm = Image.objects.with_environment().get(pk=found.pk)
        (read,) = IMAGES.by_pks([found.pk], environment_id=found.environment_id)
        _same(read, orm)
        _same(read.environment, orm.environment)
        with CaptureQueriesContext(connection) as queries:
            assert read.cdn_url == orm.cdn_url
        assert len(queries) == 0, "the relations were read with the row"
    (read,) = IMAGES.by_pks([image.pk])
    _same(read.environment.custom_domain, CustomDomain.objects.get(pk=domain.pk))
    assert read.cdn_url == f"https://img.example.com/{image.pk}"


def test_an_environment_without_a_custom_domain_is_read_as_having_none(owner):
    image = stored_image(owner.environment)
    (read,) = IMAGES.by_pks([image.pk])
    with CaptureQueriesContext(connection) as queries, pytest.raises(CustomDomain.DoesNotExist):
        read.environment.custom_domain  # noqa: B018 (what select_related would raise)
    assert len(queries) == 0


def test_a_joined_read_matches_only_the_rows_its_filters_name(owner, outsider):
    ours, theirs = stored_image(owner.environment), stored_image(outsider.environment)
    found = IMAGES.by_pks([ours.pk, theirs.pk], environment_id=owner.environment.pk)
    assert [i.pk for i in found] == [ours.pk]
    assert IMAGES.by_pks([]) == []


def test_inserting_rows_stores_what_the_orm_would_with_every_default_applied(owner):
    now = timezone.now()
    subscription = Subscription(environment=owner.environment, url="https://x.test/h")
    subscription.secret_ciphertext = "sealed"
    insert_all([subscription])  # created_at is auto_now_add: set by pre_save, as save() does
    event = Event(environment=owner.environment, type="image.ready", payload={"a": [1, "é"]})
    insert_all([event])
    deliveries = [
        Delivery(event=event, subscription=subscription, next_attempt_at=now) for _ in range(1)
    ]
    insert_all(deliveries)
    stored = Subscription.objects.get(pk=subscription.pk)
    assert stored.created_at == subscription.created_at and stored.created_at is not None
    assert stored.events == [] and stored.enabled and stored.format == "standard"
    _same(Event.objects.get(pk=event.pk), event)
    delivery = Delivery.objects.get(pk=deliveries[0].pk)
    _same(delivery, deliveries[0])
    assert (delivery.status, delivery.attempts, delivery.lease_until) == ("pending", 0, None)
    assert not deliveries[0]._state.adding  # a later save() updates the row


def test_inserting_rows_refuses_a_model_whose_key_the_database_assigns(owner):
    subscription, _ = subscription_create(environment=owner.environment, url="https://x.test/h")
    event = Event.objects.create(environment=owner.environment, type="t", payload={})
    delivery = Delivery.objects.create(
        event=event, subscription=subscription, next_attempt_at=timezone.now()
    )
    with pytest.raises(ValueError, match="not known before the insert"):
        insert_all([Attempt(delivery=delivery, at=timezone.now(), latency_ms=1)])
    assert not Attempt.objects.exists()


def test_rows_whose_keys_the_database_numbers_are_inserted_without_reading_them_back(owner):
    subscription, _ = subscription_create(environment=owner.environment, url="https://x.test/h")
    event = Event.objects.create(environment=owner.environment, type="t", payload={})
    delivery = Delivery.objects.create(
        event=event, subscription=subscription, next_attempt_at=timezone.now()
    )
    at = timezone.now()
    attempts = [
        Attempt(delivery=delivery, at=at, status_code=200 + n, latency_ms=n) for n in (1, 2)
    ]
    insert_all(attempts, without_keys=True)
    stored = list(Attempt.objects.order_by("id").values_list("status_code", "latency_ms", "at"))
    assert stored == [(201, 1, at), (202, 2, at)]
    assert all(a.pk is None and a._state.adding for a in attempts)  # never saved as updates
