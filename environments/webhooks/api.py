"""Resource API views for webhook subscriptions (additive to the reference): thin, each
validating input and calling one service (docs/webhooks.md).

Server keys and OWNER/ADMIN members manage subscriptions; DEVELOPER members may read them
and their delivery logs (they "read settings"); Client keys may do neither. The signing
secret is in the answer of a create or a rotation only.
"""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from imgwire_site.api.errors import ResourceNotFoundError
from imgwire_site.api.pagination import PAGINATION_PARAMETERS, paginate
from imgwire_site.api.schema import answers, path_id, sdk
from imgwire_site.api.views import (
    ENVIRONMENT_HEADER,
    STRING_MAP,
    environment_of,
    path_uuid,
    validated,
)
from keys.permissions import ManagerOnly, ServerKeyOrMember

from .models import Delivery, Subscription
from .serializers import (
    WebhookDeliverySerializer,
    WebhookSubscriptionCreateSerializer,
    WebhookSubscriptionSecretSerializer,
    WebhookSubscriptionSerializer,
    WebhookSubscriptionUpdateSerializer,
)
from .services import (
    delivery_send_again,
    subscription_create,
    subscription_delete,
    subscription_rotate_secret,
    subscription_test_event,
    subscription_update,
)

TAGS = ["Webhooks"]


WEBHOOK_ID = path_id("webhook_id", "webhook subscription")
DELIVERY_ID = path_id("delivery_id", "delivery")
EXAMPLES = [
    OpenApiExample(
        "Ready and deleted images",
        value={"url": "https://api.example.com/hooks/imgwire", "events": ["image.ready"]},
        request_only=True,
    ),
    OpenApiExample(
        "A receiver written for Uploadcare",
        value={
            "url": "https://api.example.com/hooks/uploadcare",
            "events": ["file.uploaded"],
            "format": "uploadcare",
        },
        request_only=True,
    ),
]
NOT_HERE = "No such webhook subscription (or delivery) in this environment."


def _answers(status: int, ok, *statuses: int, description: str, **kwargs) -> dict:
    """``answers`` with its success under ``status`` (201, 202) instead of 200."""
    documented = answers(ok, *statuses, description=description, **kwargs)
    documented[status] = documented.pop(200)
    return documented


def _subscription(request, webhook_id: str):
    subscription = (
        Subscription.objects.in_environment(environment_of(request))
        .filter(id=path_uuid(webhook_id, "webhook_id"))
        .first()
    )
    if subscription is None:
        raise ResourceNotFoundError(
            f"Webhook subscription {webhook_id} was not found in this environment."
        )
    return subscription


class _ReadForMembersWriteForManagers(APIView):
    def get_permissions(self):
        if self.request.method == "GET":
            return [ServerKeyOrMember()]
        return [ManagerOnly()]


class WebhookListView(_ReadForMembersWriteForManagers):
    @extend_schema(
        operation_id="list_webhooks_api_v1_webhooks__get",
        extensions=sdk("webhooks", "list", paginated=True),
        parameters=[*PAGINATION_PARAMETERS, ENVIRONMENT_HEADER],
        responses=answers(WebhookSubscriptionSerializer(many=True)),
        tags=TAGS,
    )
    def get(self, request):
        items, headers = paginate(
            request, Subscription.objects.in_environment(environment_of(request))
        )
        return Response(WebhookSubscriptionSerializer(items, many=True).data, headers=headers)

    @extend_schema(
        operation_id="create_webhook_api_v1_webhooks__post",
        extensions=sdk("webhooks", "create"),
        parameters=[ENVIRONMENT_HEADER],
        request=WebhookSubscriptionCreateSerializer,
        examples=EXAMPLES,
        responses=_answers(
            201,
            WebhookSubscriptionSecretSerializer,
            409,
            413,
            description="Created: the answer carries the signing secret, shown this once.",
            when={
                409: "The environment has MAX_SUBSCRIPTIONS (20) subscriptions already.",
                422: "Also a URL that is not https:// (where plain http is not allowed) or "
                "points at a private, loopback or metadata address, and unknown event types.",
            },
        ),
        tags=TAGS,
    )
    def post(self, request):
        data = validated(WebhookSubscriptionCreateSerializer, request.data)
        subscription, secret = subscription_create(environment=environment_of(request), **data)
        subscription.secret = secret
        return Response(WebhookSubscriptionSecretSerializer(subscription).data, status=201)


class WebhookDetailView(_ReadForMembersWriteForManagers):
    @extend_schema(
        operation_id="get_webhook_by_id_api_v1_webhooks__webhook_id__get",
        extensions=sdk("webhooks", "retrieve"),
        parameters=[WEBHOOK_ID, ENVIRONMENT_HEADER],
        responses=answers(WebhookSubscriptionSerializer, 404, when={404: NOT_HERE}),
        tags=TAGS,
    )
    def get(self, request, webhook_id: str):
        return Response(WebhookSubscriptionSerializer(_subscription(request, webhook_id)).data)

    @extend_schema(
        operation_id="update_webhook_by_id_api_v1_webhooks__webhook_id__patch",
        extensions=sdk("webhooks", "update"),
        parameters=[WEBHOOK_ID, ENVIRONMENT_HEADER],
        request=WebhookSubscriptionUpdateSerializer,
        responses=answers(
            WebhookSubscriptionSerializer,
            404,
            413,
            when={
                404: NOT_HERE,
                422: "Also a URL or event types the create would refuse.",
            },
        ),
        tags=TAGS,
    )
    def patch(self, request, webhook_id: str):
        data = validated(WebhookSubscriptionUpdateSerializer, request.data)  # the body first
        subscription = subscription_update(subscription=_subscription(request, webhook_id), **data)
        return Response(WebhookSubscriptionSerializer(subscription).data)

    @extend_schema(
        operation_id="delete_webhook_by_id_api_v1_webhooks__webhook_id__delete",
        extensions=sdk("webhooks", "delete"),
        parameters=[WEBHOOK_ID, ENVIRONMENT_HEADER],
        responses=answers(STRING_MAP, 404, when={404: NOT_HERE}),
        tags=TAGS,
    )
    def delete(self, request, webhook_id: str):
        subscription = _subscription(request, webhook_id)
        subscription_id = subscription.pk
        subscription_delete(subscription=subscription)
        return Response({"id": str(subscription_id), "status": "deleted"})


class WebhookRotateSecretView(APIView):
    permission_classes = [ManagerOnly]

    @extend_schema(
        operation_id="rotate_webhook_secret_api_v1_webhooks__webhook_id__rotate_secret_post",
        extensions=sdk("webhooks", "rotateSecret"),
        parameters=[WEBHOOK_ID, ENVIRONMENT_HEADER],
        request=None,
        responses=answers(
            WebhookSubscriptionSecretSerializer,
            404,
            description="The new signing secret, shown this once; the old one stops signing now.",
            when={404: NOT_HERE},
        ),
        tags=TAGS,
    )
    def post(self, request, webhook_id: str):
        subscription = _subscription(request, webhook_id)
        subscription.secret = subscription_rotate_secret(subscription=subscription)
        return Response(WebhookSubscriptionSecretSerializer(subscription).data)


class WebhookTestView(APIView):
    permission_classes = [ManagerOnly]

    @extend_schema(
        operation_id="send_webhook_test_event_api_v1_webhooks__webhook_id__test_post",
        extensions=sdk("webhooks", "sendTestEvent"),
        parameters=[WEBHOOK_ID, ENVIRONMENT_HEADER],
        request=None,
        responses=_answers(
            202,
            WebhookDeliverySerializer,
            404,
            description="Accepted: a webhook.test event is queued for this subscription "
            "(enabled or not); follow it in its deliveries.",
            when={404: NOT_HERE},
        ),
        tags=TAGS,
    )
    def post(self, request, webhook_id: str):
        subscription = _subscription(request, webhook_id)
        event = subscription_test_event(subscription=subscription)
        delivery = Delivery.objects.log_of(subscription).get(event=event)
        return Response(WebhookDeliverySerializer(delivery).data, status=202)


class WebhookDeliveryListView(APIView):
    permission_classes = [ServerKeyOrMember]

    @extend_schema(
        operation_id="list_webhook_deliveries_api_v1_webhooks__webhook_id__deliveries_get",
        extensions=sdk("webhooks", "listDeliveries", paginated=True),
        parameters=[WEBHOOK_ID, *PAGINATION_PARAMETERS, ENVIRONMENT_HEADER],
        responses=answers(
            WebhookDeliverySerializer(many=True),
            404,
            description="Newest first, each with its attempts.",
            when={404: NOT_HERE},
        ),
        tags=TAGS,
    )
    def get(self, request, webhook_id: str):
        subscription = _subscription(request, webhook_id)
        items, headers = paginate(request, Delivery.objects.log_of(subscription))
        return Response(WebhookDeliverySerializer(items, many=True).data, headers=headers)


class WebhookSendAgainView(APIView):
    permission_classes = [ManagerOnly]

    @extend_schema(
        operation_id="send_webhook_delivery_again_api_v1_webhooks__webhook_id__deliveries__"
        "delivery_id__send_again_post",
        extensions=sdk("webhooks", "sendAgain"),
        parameters=[WEBHOOK_ID, DELIVERY_ID, ENVIRONMENT_HEADER],
        request=None,
        responses=_answers(
            202,
            WebhookDeliverySerializer,
            404,
            409,
            description="Accepted: the same event (same id) is due again now, whatever it "
            "ended as.",
            when={404: NOT_HERE, 409: "The subscription is disabled: enable it first."},
        ),
        tags=TAGS,
    )
    def post(self, request, webhook_id: str, delivery_id: str):
        subscription = _subscription(request, webhook_id)
        delivery = Delivery.objects.filter(
            subscription=subscription, id=path_uuid(delivery_id, "delivery_id")
        ).first()
        if delivery is None:
            raise ResourceNotFoundError(
                f"Delivery {delivery_id} of webhook subscription {webhook_id} was not found."
            )
        delivery = delivery_send_again(delivery=delivery)
        return Response(
            WebhookDeliverySerializer(
                Delivery.objects.log_of(subscription).get(pk=delivery.pk)
            ).data,
            status=202,
        )
