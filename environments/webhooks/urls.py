"""/api/v1/webhooks/… (the Resource API's additive webhook paths)."""

from django.urls import path

from . import api

urlpatterns = [
    path("", api.WebhookListView.as_view()),
    path("<str:webhook_id>/rotate_secret", api.WebhookRotateSecretView.as_view()),
    path("<str:webhook_id>/test", api.WebhookTestView.as_view()),
    path("<str:webhook_id>/deliveries", api.WebhookDeliveryListView.as_view()),
    path(
        "<str:webhook_id>/deliveries/<str:delivery_id>/send_again",
        api.WebhookSendAgainView.as_view(),
    ),
    path("<str:webhook_id>", api.WebhookDetailView.as_view()),
]
