"""/dashboard/: every page is scoped to an environment in its URL (``member_view``)."""

from django.urls import include, path

from domains import views as domain_views
from environments import organization_views as org_views
from environments import views as env_views
from images import dashboard_preview, views_detail, views_upload
from images import views as image_views
from images import views_library as library_views
from keys import views as key_views
from metrics import views as metrics_views

environment_patterns = [
    path("", env_views.overview, name="dashboard-overview"),
    path("keys/", key_views.key_list, name="keys"),
    path("keys/new/", key_views.key_create, name="key-create"),
    path("keys/<uuid:key_id>/", key_views.key_edit, name="key-edit"),
    path("keys/<uuid:key_id>/created/", key_views.key_created, name="key-created"),
    path("keys/<uuid:key_id>/revoke/", key_views.key_revoke, name="key-revoke"),
    path("keys/signing-secret/", key_views.signing_secret_show, name="signing-secret"),
    path(
        "keys/signing-secret/rotate/",
        key_views.signing_secret_rotate_view,
        name="signing-secret-rotate",
    ),
    path("keys/uploadcare/", key_views.uploadcare_settings, name="uploadcare-settings"),
    path("images/", image_views.image_list, name="images"),
    path("images/upload/", views_upload.upload_page, name="image-upload"),
    path("images/upload/credentials/", views_upload.upload_credentials, name="upload-credentials"),
    path("images/bulk/", image_views.bulk_action, name="images-bulk"),
    path("images/<uuid:image_id>/", views_detail.image_detail, name="image-detail"),
    path("images/<uuid:image_id>/delete/", image_views.image_delete_view, name="image-delete"),
    path("images/<uuid:image_id>/discard/", image_views.image_discard, name="image-discard"),
    path("images/<uuid:image_id>/preview/", dashboard_preview.image_preview, name="image-preview"),
    path("images/<uuid:image_id>/builder/", views_detail.image_builder, name="image-builder"),
    path(
        "images/<uuid:image_id>/builder/signed/",
        views_detail.image_builder_signed,
        name="image-builder-signed",
    ),
    path(
        "images/<uuid:image_id>/original/", dashboard_preview.image_original, name="image-original"
    ),
    path("images/<uuid:image_id>/tags/", library_views.image_tags_view, name="image-tags"),
    path("images/<uuid:image_id>/move/", library_views.image_move_view, name="image-move"),
    path("images/<uuid:image_id>/privacy/", library_views.image_privacy_view, name="image-privacy"),
    path("downloads/<uuid:job_id>/", image_views.download_page, name="download"),
    path("downloads/<uuid:job_id>/status/", image_views.download_status, name="download-status"),
    path("environments/", env_views.environment_list, name="environments"),
    path("environments/new/", env_views.environment_new, name="environment-create"),
    path(
        "environments/<uuid:other_id>/rename/",
        env_views.environment_rename_view,
        name="environment-rename",
    ),
    path(
        "environments/<uuid:other_id>/default/",
        env_views.environment_default_view,
        name="environment-default",
    ),
    path(
        "environments/<uuid:other_id>/delete/",
        env_views.environment_delete_view,
        name="environment-delete",
    ),
    path("domains/", domain_views.domains_page, name="domains"),
    path("domains/cors/", domain_views.cors_create, name="cors-create"),
    path(
        "domains/cors/<uuid:cors_origin_id>/delete/", domain_views.cors_delete, name="cors-delete"
    ),
    path(
        "domains/custom/<str:action>/",
        domain_views.custom_domain_action,
        name="custom-domain",
    ),
    path("metrics/", metrics_views.metrics_page, name="metrics"),
    path("team/", env_views.team, name="team"),
    path("team/invite/", env_views.invite, name="team-invite"),
    path("team/<uuid:membership_id>/role/", env_views.member_role, name="team-role"),
    path("team/<uuid:membership_id>/remove/", env_views.member_remove, name="team-remove"),
    path(
        "team/invitations/<uuid:invitation_id>/resend/",
        env_views.invitation_resend_view,
        name="invitation-resend",
    ),
    path(
        "team/invitations/<uuid:invitation_id>/revoke/",
        env_views.invitation_revoke_view,
        name="invitation-revoke",
    ),
    path("organization/", org_views.organization_settings, name="organization-settings"),
    path("organization/rename/", org_views.organization_rename_view, name="organization-rename"),
    path("organization/leave/", org_views.organization_leave_view, name="organization-leave"),
    path("", include("keys.oauth.dashboard_urls")),  # Authorized Connections (agents)
    path("webhooks/", include("environments.webhooks.dashboard_urls")),
]

urlpatterns = [
    path("", env_views.home, name="dashboard-home"),
    path("switch/", env_views.switch, name="dashboard-switch"),
    path("organizations/new/", env_views.organization_new, name="organization-create"),
    path("<uuid:environment_id>/", include(environment_patterns)),
]
