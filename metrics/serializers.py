"""Query parsing and response shapes of the metrics endpoints (names as in the reference)."""

import re
from datetime import UTC, datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from imgwire_site.api.errors import RequestValidationError, flatten_validation_errors
from metrics.datasets import Interval, MetricsRange, RangeError, iso, metrics_range

# Far enough apart for any real chart, near enough that stepping a range back a few years
# for the previous period can never overflow datetime.
EARLIEST_YEAR, LATEST_YEAR = 1970, 2999
DATE_HINT = (
    "an ISO 8601 date-time such as 2026-03-08T00:00:00-05:00 (without an offset it is read "
    "as local time in tz)"
)


@cache
def _known_zones() -> frozenset[str]:
    # Only names of the IANA database: ZoneInfo() alone would also open any file under the
    # zoneinfo folders, such as "posixrules". Some systems list "localtime" there, which
    # would make the answer depend on the server's own zone.
    return frozenset(available_timezones() - {"localtime"})


def _parse_moment(value: str, name: str) -> datetime:
    text = value.strip()
    # An unencoded "+05:30" in a query string arrives as " 05:30".
    text = re.sub(r"(T[\d:.]+) (\d{2}:?\d{2})$", r"\1+\2", text)
    try:
        parsed = parse_datetime(text)
    except ValueError:
        parsed = None
    if parsed is None:
        raise serializers.ValidationError(
            f"{name} must be {DATE_HINT}; got {value[:64]!r}.", code="datetime_parsing"
        )
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        raise serializers.ValidationError(
            f"{name} must lie between the years {EARLIEST_YEAR} and {LATEST_YEAR}.",
            code="value_error",
        )
    return parsed


class MetricsQuerySerializer(serializers.Serializer):
    interval = serializers.ChoiceField(
        choices=Interval.choices,
        default=Interval.HOURLY,
        error_messages={
            "invalid_choice": "interval must be one of HOURLY, DAILY, WEEKLY, MONTHLY; "
            "got '{input}'."
        },
    )
    tz = serializers.CharField(
        default="UTC",
        max_length=64,
        trim_whitespace=False,
    )
    date_start = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    date_end = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)

    def validate_tz(self, value: str) -> ZoneInfo:
        if value not in _known_zones():
            raise serializers.ValidationError(
                f"tz must be an IANA time zone name such as Europe/Paris or "
                f"America/New_York; got {value!r}.",
                code="value_error",
            )
        return ZoneInfo(value)

    def validate_date_start(self, value: str) -> datetime | None:
        return _parse_moment(value, "date_start") if value else None

    def validate_date_end(self, value: str) -> datetime | None:
        return _parse_moment(value, "date_end") if value else None

    def validate(self, attrs: dict) -> dict:
        tz = attrs["tz"]

        def instant(moment: datetime | None) -> datetime | None:
            if moment is None:
                return None
            if timezone.is_naive(moment):
                moment = moment.replace(tzinfo=tz)
            return moment.astimezone(UTC)

        try:
            attrs["range"] = metrics_range(
                interval=attrs["interval"],
                tz=tz,
                date_start=instant(attrs.get("date_start")),
                date_end=instant(attrs.get("date_end")),
                now=timezone.now(),
            )
        except RangeError as exc:
            raise serializers.ValidationError(
                {exc.parameter: [str(exc)]}, code="value_error"
            ) from None
        return attrs


def metrics_range_from_query(query_params) -> MetricsRange:
    serializer = MetricsQuerySerializer(data=query_params)
    if not serializer.is_valid():
        raise RequestValidationError(flatten_validation_errors(serializer.errors, ["query"]))
    return serializer.validated_data["range"]


class BucketStartField(serializers.DateTimeField):
    """Keeps the bucket's own UTC offset instead of converting to the server's zone: it is
    what tells the two 01:00 buckets of a fall-back night apart."""

    def to_representation(self, value: datetime) -> str:
        return iso(value)


@extend_schema_field({"type": "number"})
class NumberField(serializers.Field):
    """A JSON number that stays an integer when it is one (counts and bytes)."""

    def to_representation(self, value):
        return value


@extend_schema_serializer(component_name="UploadsDatasetPointSchema")
class UploadsPointSerializer(serializers.Serializer):
    timestamp = BucketStartField()
    uploads = serializers.IntegerField()


@extend_schema_serializer(component_name="TransformationsDatasetPointSchema")
class TransformationsPointSerializer(serializers.Serializer):
    timestamp = BucketStartField()
    transformations = serializers.IntegerField()


@extend_schema_serializer(component_name="RequestsDatasetPointSchema")
class RequestsPointSerializer(serializers.Serializer):
    timestamp = BucketStartField()
    requests = serializers.IntegerField()


@extend_schema_serializer(component_name="TransferBytesDatasetPointSchema")
class TransferBytesPointSerializer(serializers.Serializer):
    timestamp = BucketStartField()
    transfer_bytes = serializers.IntegerField()


@extend_schema_serializer(component_name="CacheHitRatioDatasetPointSchema")
class CacheHitRatioPointSerializer(serializers.Serializer):
    label = serializers.CharField(help_text="The bucket's start, as the other series' timestamp.")
    value = serializers.IntegerField(help_text="Percent of requests answered from the cache.")


@extend_schema_serializer(component_name="StorageBytesDatasetPointSchema")
class StorageBytesPointSerializer(serializers.Serializer):
    timestamp = BucketStartField()
    storage_bytes_current = serializers.IntegerField()
    storage_bytes_added = serializers.IntegerField()


@extend_schema_serializer(component_name="MetricsDatasetsSchema")
class MetricsDatasetsSerializer(serializers.Serializer):
    uploads = UploadsPointSerializer(many=True)
    transformations = TransformationsPointSerializer(many=True)
    requests = RequestsPointSerializer(many=True)
    transfer_bytes = TransferBytesPointSerializer(many=True)
    cache_hit_ratio = CacheHitRatioPointSerializer(many=True)
    storage_bytes = StorageBytesPointSerializer(many=True)


@extend_schema_serializer(component_name="MetricsStatValueSchema")
class MetricsStatValueSerializer(serializers.Serializer):
    value = NumberField()
    prev = NumberField()
    pct_change = NumberField(allow_null=True)


@extend_schema_serializer(component_name="MetricsStatsSchema")
class MetricsStatsSerializer(serializers.Serializer):
    uploads = MetricsStatValueSerializer()
    transformations = MetricsStatValueSerializer()
    requests = MetricsStatValueSerializer()
    transfer_bytes = MetricsStatValueSerializer()
    cache_hit_ratio = MetricsStatValueSerializer()
    storage_bytes = MetricsStatValueSerializer()
