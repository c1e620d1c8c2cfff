import uuid

from django.conf import settings
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


class CustomDomainStatus(models.TextChoices):
    PENDING = "PENDING"
    CONNECTED = "CONNECTED"
    FAILED = "FAILED"


class CustomDomainCertificateStatus(models.TextChoices):
    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    FAILING = "FAILING"


# "_acme-challenge." is 16 characters and the DCV record must itself be a valid DNS name
# (at most 253), so the hostname gets what is left.
DCV_RECORD_PREFIX = "_acme-challenge."
MAX_CUSTOM_HOSTNAME_LENGTH = 253 - len(DCV_RECORD_PREFIX)


class CustomDomainQuerySet(models.QuerySet):
    def for_environment(self, environment):
        """The tenancy boundary: every read of a caller's custom domain goes through here."""
        return self.filter(environment=environment)

    def connected(self):
        return self.filter(status=CustomDomainStatus.CONNECTED)


class CustomDomain(models.Model):
    """A customer's hostname serving one environment's images (docs/custom-domains.md).

    ``hostname`` is stored normalised (lowercase, punycode, no trailing dot) and is unique
    across the install: a Host header must lead to exactly one environment. The CNAME
    values are derived from settings when read, so they follow the configured target.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    environment = models.OneToOneField(
        "environments.Environment", on_delete=models.CASCADE, related_name="custom_domain"
    )
    hostname = models.CharField(max_length=MAX_CUSTOM_HOSTNAME_LENGTH, unique=True)
    # The random leftmost label of dcv_cname_value: unguessable, so one domain's delegated
    # challenge name cannot be pointed at by another hostname's DCV record.
    dcv_label = models.CharField(max_length=32)
    status = models.CharField(
        max_length=16, choices=CustomDomainStatus.choices, default=CustomDomainStatus.PENDING
    )
    certificate_status = models.CharField(
        max_length=16,
        choices=CustomDomainCertificateStatus.choices,
        default=CustomDomainCertificateStatus.PENDING,
    )
    status_reason = models.CharField(max_length=500, blank=True, default="")
    last_verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CustomDomainQuerySet.as_manager()

    def __str__(self) -> str:
        return self.hostname

    @property
    def is_connected(self) -> bool:
        return self.status == CustomDomainStatus.CONNECTED

    @property
    def cname_record(self) -> str:
        return self.hostname

    @property
    def cname_value(self) -> str:
        return settings.IMGWIRE_CUSTOM_DOMAIN_CNAME_TARGET

    @property
    def dcv_cname_record(self) -> str:
        return DCV_RECORD_PREFIX + self.hostname

    @property
    def dcv_cname_value(self) -> str:
        return f"{self.dcv_label}.dcv.{settings.IMGWIRE_CUSTOM_DOMAIN_CNAME_TARGET}"
