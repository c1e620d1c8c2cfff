import uuid

from django.db import models


class DeliveryUsageHourQuerySet(models.QuerySet):
    def for_environment(self, environment):
        return self.filter(environment=environment)

    def in_hours(self, start, end):
        """Rows whose UTC hour starts in [start, end); served by the (environment, hour)
        unique index."""
        return self.filter(hour__gte=start, hour__lt=end)


class DeliveryUsageHour(models.Model):
    """Delivery counters of one environment for one UTC hour.

    Requests are counted in memory and merged here in batches (metrics/usage.py), so the
    delivery path never writes a row per request.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    environment = models.ForeignKey(
        "environments.Environment", on_delete=models.CASCADE, related_name="+"
    )
    hour = models.DateTimeField()
    requests = models.BigIntegerField(default=0)
    transfer_bytes = models.BigIntegerField(default=0)
    cache_hits = models.BigIntegerField(default=0)
    transformations = models.BigIntegerField(default=0)

    objects = DeliveryUsageHourQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["environment", "hour"], name="one_usage_row_per_hour")
        ]

    def __str__(self) -> str:
        return f"{self.environment_id} {self.hour:%Y-%m-%d %H}:00"


class UsageBatch(models.Model):
    """A batch of counted delivery usage already merged into DeliveryUsageHour.

    Written in the same transaction as the merge, so a flusher that dies after committing
    but before deleting its batch from Redis (or the spool folder) finds the batch here next
    time and drops it instead of counting it twice (metrics/usage.py)."""

    id = models.BigAutoField(primary_key=True)
    batch_id = models.CharField(max_length=200, unique=True)
    merged_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return self.batch_id
