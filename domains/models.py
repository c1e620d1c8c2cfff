import uuid

from django.db import models


class CorsOriginQuerySet(models.QuerySet):
    def for_environment(self, environment):
        """The tenancy boundary: every read of a caller's CORS origins goes through here."""
        return self.filter(environment=environment)

    def newest_first(self):
        return self.order_by("-created_at", "-id")

    def patterns(self) -> list[str]:
        return list(self.values_list("pattern", flat=True))


class CorsOrigin(models.Model):
    """A host pattern browsers may call the Client-Key endpoints from (docs/cors.md).

    ``pattern`` is stored in canonical form (domains.cors.canonical_pattern), so two
    spellings of the same pattern collide on the unique constraint.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    environment = models.ForeignKey(
        "environments.Environment", on_delete=models.CASCADE, related_name="cors_origins"
    )
    # Room for the canonical form: a 253-character host plus scheme, "*." and port.
    pattern = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CorsOriginQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "pattern"],
                name="cors_origin_patterns_unique_per_environment",
            )
        ]

    def __str__(self) -> str:
        return self.pattern
