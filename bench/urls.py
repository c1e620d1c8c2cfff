"""The product's URLs plus ``api/v1/_bench/ping``, the floor the benchmarks compare against.

The ping view goes through the same stack as any Resource API call (middleware, DRF, the
default authentication and permission classes, the JSON renderer) and then does nothing.
"""

from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from imgwire_site import urls as product_urls


class BenchPingView(APIView):
    """Authenticated no-op: the body (if any) is never parsed; returns ``{}``."""

    def get(self, request):
        return Response({})

    def post(self, request):
        return Response({})


urlpatterns = [
    path("api/v1/_bench/ping", BenchPingView.as_view(), name="bench-ping"),
    *product_urls.urlpatterns,
]

# Keep the product's error handlers, if it defines any.
for _code in (400, 403, 404, 500):
    if hasattr(product_urls, f"handler{_code}"):
        globals()[f"handler{_code}"] = getattr(product_urls, f"handler{_code}")


# bench/delivery.py's floor for warm cache hits: the same bytes as a static file, through
# Django's static view on the same server. Only when the bench sets the folder to serve.
def _bench_static_route():
    import os

    from django.views.static import serve

    root = os.environ.get("IMGWIRE_BENCH_STATIC_ROOT")
    return [path("_bench/static/<path:path>", serve, {"document_root": root})] if root else []


urlpatterns += _bench_static_route()
