"""Resource API views for metrics: thin, each parsing the query and calling one read."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from imgwire_site.api.schema import answers, sdk
from imgwire_site.api.views import ENVIRONMENT_HEADER, environment_of
from keys.permissions import ServerKeyOrMember
from metrics.datasets import Interval, metrics_datasets, metrics_stats
from metrics.serializers import (
    EARLIEST_YEAR,
    LATEST_YEAR,
    MetricsDatasetsSerializer,
    MetricsStatsSerializer,
    metrics_range_from_query,
)

# Rules between parameters that no JSON Schema keyword can state: said on each parameter
# and on the 422 of both operations.
RANGE_RULES = (
    "Also: date_end not later than date_start, a date_start in the future (date_end "
    "defaults to now), a range of more buckets than the interval allows, an unknown tz, a "
    f"date outside the years {EARLIEST_YEAR} to {LATEST_YEAR}."
)
# RFC 3339 date-times whose year is EARLIEST_YEAR..LATEST_YEAR (1970..2999).
MOMENT = {"type": "string", "format": "date-time", "pattern": "^(?:19[7-9][0-9]|2[0-9]{3})-"}
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
        # Every IANA name starts with a letter and has only these characters.
        {
            "type": "string",
            "minLength": 1,
            "maxLength": 64,
            "pattern": "^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*$",
        },
        OpenApiParameter.QUERY,
        default="UTC",
        description="IANA time zone name, such as Europe/Paris; buckets start at local "
        "midnight, Monday or the 1st there.",
    ),
    OpenApiParameter(
        "date_start",
        MOMENT,
        OpenApiParameter.QUERY,
        description="Inclusive, floored to its bucket; earlier than date_end. Without an "
        "offset it is read as local time in tz. Default: 24 hours, 30 days, 12 weeks or 12 "
        f"months before date_end. Years {EARLIEST_YEAR} to {LATEST_YEAR}.",
    ),
    OpenApiParameter(
        "date_end",
        MOMENT,
        OpenApiParameter.QUERY,
        description="Exclusive, raised to the next bucket boundary; must be later than "
        "date_start. Without an offset it is read as local time in tz. Default: now (the "
        f"current bucket is included). Years {EARLIEST_YEAR} to {LATEST_YEAR}.",
    ),
    ENVIRONMENT_HEADER,
]


class MetricsDatasetsView(APIView):
    permission_classes = [ServerKeyOrMember]

    @extend_schema(
        operation_id="get_metrics_datasets_api_v1_metrics_datasets_get",
        extensions=sdk("metrics", "getDatasets"),
        parameters=METRICS_PARAMETERS,
        responses=answers(MetricsDatasetsSerializer, when={422: RANGE_RULES}),
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
        extensions=sdk("metrics", "getStats"),
        parameters=METRICS_PARAMETERS,
        responses=answers(MetricsStatsSerializer, when={422: RANGE_RULES}),
        tags=["Metrics"],
    )
    def get(self, request):
        metrics = metrics_range_from_query(request.query_params)
        stats = metrics_stats(environment_of(request), metrics)
        return Response(MetricsStatsSerializer(stats).data)
