"""The webhook shapes of the Resource API (additive to the reference).

Input serializers check types and bounds only; what a URL may point at and which event
names exist is the services' rule (``services._validate``), refused there with a Refusal
that the API's edge answers as a 422 naming the field. The secret appears only in
``WebhookSubscriptionSecretSchema``, the answer of a create or a rotation.
"""

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from imgwire_site.api.fields import StrictBooleanField, StrictCharField
from imgwire_site.api.text import printable

from .events import SUBSCRIBABLE_TYPES
from .models import Delivery, Subscription
from .services import MAX_URL

FORMATS = [value for value, _ in Subscription.FORMATS]


class _StrictChoiceField(serializers.ChoiceField):
    """A string among ``choices``. DRF's own message echoes the whole input (a megabyte
    string comes back whole) and matches ``str(value)``, so 1 would pass for "1"."""

    def to_internal_value(self, data):
        if isinstance(data, str) and data in self.choices:
            return data
        known = ", ".join(self.choices)
        if not isinstance(data, str):
            raise serializers.ValidationError(f"Must be a string, one of: {known}.", "invalid")
        raise serializers.ValidationError(
            f"{printable(data)!r} is not one of: {known}.", "invalid_choice"
        )


@extend_schema_field(
    {"type": "string", "enum": list(SUBSCRIBABLE_TYPES)}, component_name="WebhookEventType"
)
class EventTypeField(_StrictChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=list(SUBSCRIBABLE_TYPES), **kwargs)


@extend_schema_field(
    {
        "type": "string",
        "enum": FORMATS,
        "description": "standard: Standard Webhooks headers and body; uploadcare: "
        "Uploadcare's {hook, data, initiator} body signed with X-Uc-Signature.",
    },
    component_name="WebhookFormat",
)
class FormatField(_StrictChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=FORMATS, **kwargs)


@extend_schema_field(
    {
        "type": "string",
        "format": "uri",
        "minLength": 1,
        "maxLength": MAX_URL,
        "description": "Where events are POSTed: an https:// URL of a public host (plain "
        "http:// only where the operator allows it; private, loopback and metadata "
        "addresses are refused, here and at every attempt).",
    }
)
class WebhookUrlField(StrictCharField):
    pass


def _events_field(**kwargs):
    return serializers.ListField(
        child=EventTypeField(),
        max_length=len(SUBSCRIBABLE_TYPES),
        help_text="The event types to send; empty: every Imgwire event (Uploadcare's names "
        "only when listed).",
        **kwargs,
    )


def _distinct(events: list) -> list:
    return list(dict.fromkeys(events))


@extend_schema_serializer(component_name="WebhookSubscriptionCreateSchema")
class WebhookSubscriptionCreateSerializer(serializers.Serializer):
    url = WebhookUrlField(min_length=1, max_length=MAX_URL)
    events = _events_field(required=False, default=list)
    format = FormatField(required=False, default="standard")

    def validate_events(self, value):
        return _distinct(value)


@extend_schema_serializer(component_name="WebhookSubscriptionUpdateSchema")
class WebhookSubscriptionUpdateSerializer(serializers.Serializer):
    """Every field optional: what is absent stays as it is. Enabling a subscription again
    starts a fresh failing window (Imgwire may have disabled it)."""

    url = WebhookUrlField(min_length=1, max_length=MAX_URL, required=False)
    events = _events_field(required=False)
    enabled = StrictBooleanField(required=False)
    format = FormatField(required=False)

    def validate_events(self, value):
        return _distinct(value)

    # drf-spectacular renames PATCH bodies "Patched…"; every field is optional already.
    @property
    def partial(self) -> bool:
        return False

    @partial.setter
    def partial(self, value) -> None:
        pass


@extend_schema_serializer(component_name="WebhookSubscriptionSchema")
class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    environment_id = serializers.UUIDField(read_only=True)
    events = serializers.ListField(child=serializers.CharField(), read_only=True)
    format = FormatField(read_only=True)
    disabled_reason = serializers.CharField(
        read_only=True, help_text="Why Imgwire disabled it (empty when it did not)."
    )
    failing_since = serializers.DateTimeField(
        allow_null=True,
        read_only=True,
        help_text="When its deliveries started failing without a success since; null "
        "while they succeed.",
    )

    class Meta:
        model = Subscription
        fields = [
            "id",
            "environment_id",
            "url",
            "events",
            "enabled",
            "format",
            "disabled_reason",
            "failing_since",
            "created_at",
        ]
        read_only_fields = fields


@extend_schema_serializer(component_name="WebhookSubscriptionSecretSchema")
class WebhookSubscriptionSecretSerializer(WebhookSubscriptionSerializer):
    secret = serializers.CharField(
        read_only=True,
        help_text="The signing secret (whsec_…): shown in this answer only, never again.",
    )

    class Meta(WebhookSubscriptionSerializer.Meta):
        fields = [*WebhookSubscriptionSerializer.Meta.fields, "secret"]
        read_only_fields = fields


@extend_schema_serializer(component_name="WebhookAttemptSchema")
class WebhookAttemptSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    status_code = serializers.IntegerField(
        allow_null=True, help_text="The receiver's HTTP status; null when none came."
    )
    latency_ms = serializers.IntegerField()
    response_excerpt = serializers.CharField(
        help_text="The start of the receiver's answer (at most 500 characters)."
    )
    error = serializers.CharField(help_text="Why no answer came (refused address, timeout…).")


@extend_schema_field(
    {"type": "string", "enum": [value for value, _ in Delivery.STATUSES]},
    component_name="WebhookDeliveryStatus",
)
class DeliveryStatusField(serializers.CharField):
    pass


@extend_schema_serializer(component_name="WebhookDeliverySchema")
class WebhookDeliverySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    event_id = serializers.CharField(
        help_text="The event's id (webhook-id): the same on every attempt, for deduplication."
    )
    type = serializers.CharField(source="event.type")
    status = DeliveryStatusField()
    attempts = serializers.IntegerField()
    created_at = serializers.DateTimeField(source="event.created_at")
    next_attempt_at = serializers.SerializerMethodField(
        help_text="When the next attempt is due; null once delivered or given up on."
    )
    attempt_log = WebhookAttemptSerializer(many=True, help_text="Oldest first.")

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_next_attempt_at(self, delivery) -> str | None:
        if delivery.status != Delivery.PENDING:
            return None
        return serializers.DateTimeField().to_representation(delivery.next_attempt_at)
