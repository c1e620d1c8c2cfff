"""Resource API views for metrics: thin, each parsing the query and calling one read."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from imgwire_site.api.views import ENVIRONMENT_HEADER, environment_of
from keys.permissions import ServerKeyOrMember
from metrics.datasets import Interval, metrics_datasets, metrics_stats
from metrics.serializers import (
    MetricsDatasetsSerializer,
    MetricsStatsSerializer,
    metrics_range_from_query,
)

METRICS_PARAMETERS = [
    OpenApiParameter(
        "interval",
        # A raw schema: the enum= argument would sort the values, the reference keeps this order.
        {"type": "string", "enum": Interval.values},
        OpenApiParameter.QUERY,
        default=Interval.HOURLY.value,
        description="Bucket size. At most 2208 HOURLY, 731 DAILY, 260 WEEKLY or 60 MONTHLY "
        "buckets per range.",
    ),
    OpenApiParameter(
        "tz",
        OpenApiTypes.STR,
        OpenApiParameter.QUERY,
        default="UTC",
        description="IANA time zone; buckets start at local midnight, Monday or the 1st there.",
    ),
    OpenApiParameter(
        "date_start",
        OpenApiTypes.DATETIME,
        OpenApiParameter.QUERY,
        description="Inclusive, floored to its bucket. Default: 24 hours, 30 days, 12 weeks "
        "or 12 months before date_end.",
    ),
    OpenApiParameter(
        "date_end",
        OpenApiTypes.DATETIME,
        OpenApiParameter.QUERY,
        description="Exclusive, raised to the next bucket boundary. Default: now (the "
        "current bucket is included).",
    ),
    ENVIRONMENT_HEADER,
]


class MetricsDatasetsView(APIView):
    permission_classes = [ServerKeyOrMember]

    @extend_schema(
        operation_id="get_metrics_datasets_api_v1_metrics_datasets_get",
        parameters=METRICS_PARAMETERS,
        responses={200: MetricsDatasetsSerializer},
        tags=["Metrics"],
    )
    def get(self, request):
        metrics = metrics_range_from_query(request.query_params)
        datasets = metrics_datasets(environment_of(request), metrics)
        return Response(MetricsDatasetsSerializer(datasets).data)


class MetricsStatsView(APIView):
    permission_classes = [ServerKeyOrMember]

    @extend_schema(
        operation_id="get_metrics_stats_api_v1_metrics_stats_get",
        parameters=METRICS_PARAMETERS,
        responses={200: MetricsStatsSerializer},
        tags=["Metrics"],
    )
    def get(self, request):
        metrics = metrics_range_from_query(request.query_params)
        stats = metrics_stats(environment_of(request), metrics)
        return Response(MetricsStatsSerializer(stats).data)
