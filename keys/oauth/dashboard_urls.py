"""Included under /dashboard/<environment_id>/ (one line in imgwire_site/dashboard_urls.py)."""

from django.urls import path

from keys.oauth import views

urlpatterns = [
    path("connections/", views.connections, name="agent-connections"),
    path(
        "connections/sign-out-everywhere/",
        views.sign_out_everywhere_view,
        name="sign-out-everywhere",
    ),
    path(
        "connections/<uuid:grant_id>/revoke/",
        views.connection_revoke,
        name="agent-connection-revoke",
    ),
]
