"""The dashboard's webhook pages, under /dashboard/<environment>/webhooks/."""

from django.urls import path

from . import dashboard_views as views

urlpatterns = [
    path("", views.webhook_list, name="webhooks"),
    path("new/", views.webhook_create, name="webhook-create"),
    path("<uuid:subscription_id>/", views.webhook_log, name="webhook-log"),
    path("<uuid:subscription_id>/edit/", views.webhook_edit, name="webhook-edit"),
    path("<uuid:subscription_id>/secret/", views.webhook_secret, name="webhook-secret"),
    path("<uuid:subscription_id>/rotate/", views.webhook_rotate, name="webhook-rotate"),
    path("<uuid:subscription_id>/delete/", views.webhook_delete, name="webhook-delete"),
    path("<uuid:subscription_id>/test/", views.webhook_test, name="webhook-test"),
    path(
        "<uuid:subscription_id>/deliveries/<uuid:delivery_id>/send-again/",
        views.webhook_send_again,
        name="webhook-send-again",
    ),
]
