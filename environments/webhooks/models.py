"""Outgoing webhooks: subscriptions, the event outbox, and one delivery per (event, subscription).

The Event and Delivery rows are written in the same transaction as the state change they
describe (services.webhook_event_record), so an event exists exactly when its change did.
"""

import uuid

from django.db import models
from django.utils import timezone


def _message_id() -> str:
    return "msg_" + uuid.uuid4().hex


class SubscriptionQuerySet(models.QuerySet):
    def in_environment(self, environment):
        """An environment's subscriptions, newest first; another's id finds nothing."""
        return self.filter(environment=environment).order_by("-created_at", "-id")


class Subscription(models.Model):
    FORMATS = [("standard", "Standard Webhooks"), ("uploadcare", "Uploadcare")]

    # UUIDs like every other id of the Resource API (nothing to count or guess).
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    environment = models.ForeignKey("environments.Environment", on_delete=models.CASCADE)
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list)  # event types; empty = every type
    enabled = models.BooleanField(default=True)
    format = models.CharField(max_length=16, choices=FORMATS, default="standard")
    secret_ciphertext = models.TextField()  # keys.crypto, like the signing secret
    disabled_reason = models.CharField(max_length=200, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SubscriptionQuerySet.as_manager()

    def __str__(self):
        return self.url

    def wants(self, event_type: str) -> bool:
        from .events import NEUTRAL_TYPES

        if not self.enabled:
            return False
        # No list: every Imgwire event; Uploadcare's names only when asked for by name.
        return event_type in self.events if self.events else event_type in NEUTRAL_TYPES


class Event(models.Model):
    id = models.CharField(primary_key=True, max_length=40, default=_message_id)
    environment = models.ForeignKey("environments.Environment", on_delete=models.CASCADE)
    type = models.CharField(max_length=64)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.type} {self.id}"


class DeliveryQuerySet(models.QuerySet):
    def log_of(self, subscription):
        """A subscription's deliveries, newest first, each with its event and its attempts
        (oldest first): a page costs the same queries however many attempts it holds."""
        return (
            self.filter(subscription=subscription)
            .select_related("event")
            .prefetch_related(
                models.Prefetch("attempt_log", queryset=Attempt.objects.order_by("at", "id"))
            )
            .order_by("-event__created_at", "-id")
        )

    def due(self, now):
        return self.filter(status=Delivery.PENDING, next_attempt_at__lte=now).filter(
            models.Q(lease_until__isnull=True) | models.Q(lease_until__lte=now)
        )


class Delivery(models.Model):
    PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
    STATUSES = [(s, s) for s in (PENDING, DELIVERED, FAILED)]

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE)
    status = models.CharField(max_length=16, choices=STATUSES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    lease_until = models.DateTimeField(null=True, blank=True)
    # When its message was sent (or, for a delayed retry, is due to arrive): the recovery
    # step re-sends a due delivery whose message is this old (services.deliveries_recover).
    enqueued_at = models.DateTimeField(null=True, blank=True)

    objects = DeliveryQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "subscription"], name="one_delivery_per_sub")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="webhook_delivery_due_idx",
            )
        ]

    def __str__(self):
        return f"{self.event_id} → {self.subscription_id}: {self.status}"


class Attempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField()
    status_code = models.IntegerField(null=True)
    latency_ms = models.IntegerField()
    response_excerpt = models.CharField(max_length=500, blank=True)  # bounded on purpose
    error = models.CharField(max_length=500, blank=True)

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error[:40]}"
