from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularJSONAPIView

from domains.hosts import tls_allowed
from images.delivery.views import deliver, deliver_path_form
from images.download_view import download_archive
from images.hooks import s3_events
from images.ingest import ingest_upload
from imgwire_site.views import health, health_live

urlpatterns = [
    path("health", health),
    path("health/live", health_live),
    path("api/v1/images/", include("images.urls")),
    path("api/v1/metrics/", include("metrics.urls")),
    path("api/v1/cors_origins/", include("domains.urls")),
    path("api/v1/custom_domain/", include("domains.urls_custom_domain")),
    path("api/v1/webhooks/", include("environments.webhooks.urls")),
    path("uploadcare/", include("images.compat.uploadcare.urls")),
    path("imagekit/", include("images.compat.imagekit.urls")),
    path(
        "api/v1/openapi-server.json",
        SpectacularJSONAPIView.as_view(authentication_classes=[], permission_classes=[]),
        name="openapi",
    ),
    path("ingest/<uuid:image_id>", ingest_upload, name="ingest"),
    path("hooks/s3-events", s3_events, name="s3-events"),
    path("hooks/tls-allowed", tls_allowed, name="tls-allowed"),
    path("downloads/<uuid:job_id>", download_archive, name="download-archive"),
    path("admin/", admin.site.urls),
    path("accounts/", include("environments.account_urls")),
    path("dashboard/", include("imgwire_site.dashboard_urls")),
    # OAuth 2.1 + the MCP server: /.well-known/…, /oauth/…, /mcp (keys/oauth/urls.py).
    path("", include("keys.oauth.urls")),
    path("", RedirectView.as_view(url="/dashboard/", permanent=False)),
    # The delivery view, under the path of IMGWIRE_CDN_URL's default ({PUBLIC_URL}/cdn).
    path("cdn/<str:organization_id>/<str:environment_id>/<str:image_ref>", deliver, name="deliver"),
    # ImageKit's path form of a transformation: …/{environment}/tr:w-300,h-200/{image}.
    path(
        "cdn/<str:organization_id>/<str:environment_id>/<str:segment>/<str:image_ref>",
        deliver_path_form,
    ),
]

# Errors Django answers itself (no route, SuspiciousOperation, uncaught exception) keep the
# JSON error shape under the API's paths (imgwire_site/views.py).
handler400 = "imgwire_site.views.bad_request"
handler404 = "imgwire_site.views.not_found"
handler500 = "imgwire_site.views.server_error"
