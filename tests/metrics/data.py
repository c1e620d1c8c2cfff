"""Building metrics sources directly: hourly usage rows and READY images."""

from datetime import UTC, datetime

from images.models import Image, ImageStatus
from metrics.models import DeliveryUsageHour


def at(text: str) -> datetime:
    """An aware instant from ISO text with an offset, e.g. '2026-03-08T05:00:00Z'."""
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, text
    return moment.astimezone(UTC)


def usage(environment, hour: str, **counts) -> DeliveryUsageHour:
    return DeliveryUsageHour.objects.create(environment=environment, hour=at(hour), **counts)


def ready_image(environment, ready_at: str, size_bytes: int, deleted_at: str | None = None):
    return Image.objects.create(
        environment=environment,
        original_filename="photo.jpg",
        extension="jpg",
        mime_type="image/jpeg",
        status=ImageStatus.READY,
        size_bytes=size_bytes,
        processed_metadata_at=at(ready_at),
        deleted_at=at(deleted_at) if deleted_at else None,
    )


def datasets(tenant, **query):
    response = tenant.server.get("/api/v1/metrics/datasets", query)
    assert response.status_code == 200, response.content
    return response.json()


def stats(tenant, **query):
    response = tenant.server.get("/api/v1/metrics/stats", query)
    assert response.status_code == 200, response.content
    return response.json()


def column(body: dict, series: str, field: str | None = None) -> list:
    """One series as a list of values, in bucket order."""
    field = field or {"cache_hit_ratio": "value"}.get(series, series)
    return [point[field] for point in body[series]]


def timestamps(body: dict) -> list[str]:
    return [point["timestamp"] for point in body["uploads"]]
