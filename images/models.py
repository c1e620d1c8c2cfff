import uuid

from django.conf import settings
from django.db import models

from images.processing.formats import DIRECTLY_DELIVERABLE


def incoming_key(environment_id, image_id) -> str:
    """Where uploaded bytes land: writable through the upload URL, never served."""
    return f"incoming/{environment_id}/{image_id}"


def original_key(environment_id, image_id) -> str:
    """Where validated bytes live once READY; nothing a client holds can write here."""
    return f"originals/{environment_id}/{image_id}"


def variants_prefix(environment_id, image_id) -> str:
    """Rendered transformations of one image (the delivery cache) live under this prefix."""
    return f"variants/{environment_id}/{image_id}/"


class ImageStatus(models.TextChoices):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    READY = "READY"
    QUARANTINE = "QUARANTINE"


class SupportedMimeType(models.TextChoices):
    JPEG = "image/jpeg"
    JXL = "image/jxl"
    PNG = "image/png"
    WEBP = "image/webp"
    AVIF = "image/avif"
    GIF = "image/gif"
    ICO = "image/vnd.microsoft.icon"
    HEIC = "image/heic"
    BMP = "image/bmp"
    TIFF = "image/tiff"


class ImageQuerySet(models.QuerySet):
    def alive(self):
        return self.filter(deleted_at__isnull=True)

    def for_environment(self, environment):
        """The tenancy boundary: every read of images for a caller goes through here."""
        return self.alive().filter(environment=environment)

    def newest_first(self):
        return self.order_by("-created_at", "-id")

    def pending_uploads(self):
        """Records still waiting for their bytes (they count against pending-upload caps)."""
        return self.alive().filter(status=ImageStatus.PENDING, bytes_received_at__isnull=True)

    def with_environment(self):
        # custom_domain (reverse one-to-one) is read by cdn_url: joined, not queried per image.
        return self.select_related("environment__custom_domain")

    def addressed_by(self, organization_id, environment_id, image_id):
        """The image a CDN URL names, only if all three ids belong together."""
        return self.filter(
            id=image_id,
            environment_id=environment_id,
            environment__organization_id=organization_id,
        )

    def deliverable(self, organization_id, environment_id, image_id):
        """What a CDN URL may serve: a live READY image, addressed by all three ids."""
        return (
            self.addressed_by(organization_id, environment_id, image_id)
            .alive()
            .filter(status=ImageStatus.READY)
        )

    def ready_history_for(self, environment):
        """Every image of the environment that ever became READY, deleted ones included
        (metrics count what happened; the tenancy boundary is still the environment)."""
        return self.filter(environment=environment, status=ImageStatus.READY)


class Image(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    environment = models.ForeignKey(
        "environments.Environment", on_delete=models.CASCADE, related_name="images"
    )
    upload_token = models.ForeignKey(
        "keys.UploadToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The key that created the record: Client-key pending-upload caps are counted per key.
    created_by_key = models.ForeignKey(
        "keys.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    original_filename = models.CharField(max_length=255)
    extension = models.CharField(max_length=16)
    mime_type = models.CharField(max_length=32, choices=SupportedMimeType.choices)
    status = models.CharField(
        max_length=16, choices=ImageStatus.choices, default=ImageStatus.PENDING
    )
    status_reason = models.CharField(max_length=500, blank=True, default="")
    # Declared by the uploader (verified against the bytes when given).
    declared_content_length = models.BigIntegerField(null=True, blank=True)
    declared_sha256 = models.CharField(max_length=255, null=True, blank=True)
    # Measured from the bytes.
    hash_sha256 = models.CharField(max_length=64, null=True, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    width = models.IntegerField(default=0)
    height = models.IntegerField(default=0)
    frames = models.IntegerField(default=1)
    is_animated = models.BooleanField(default=False)
    has_alpha = models.BooleanField(default=False)
    orientation = models.SmallIntegerField(default=1)
    exif_data = models.JSONField(default=dict, blank=True)
    custom_metadata = models.JSONField(default=dict, blank=True)
    purpose = models.CharField(max_length=255, null=True, blank=True)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")
    # Ingest and processing bookkeeping.
    ingest_started_at = models.DateTimeField(null=True, blank=True)
    bytes_received_at = models.DateTimeField(null=True, blank=True)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    processing_attempts = models.SmallIntegerField(default=0)
    # When the last processing message reached (or, retried, will reach) a queue, and
    # which queue: "" for a shared broker, the process for the embedded one. The reconciler
    # tells a message still queued from a lost one by these (images/services/maintenance).
    enqueued_at = models.DateTimeField(null=True, blank=True)
    enqueued_to = models.CharField(max_length=100, blank=True, default="")
    processed_metadata_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = ImageQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["environment", "-created_at", "-id"], name="image_env_newest"),
            models.Index(fields=["status", "updated_at"], name="image_status_updated"),
            # Metrics: uploads and storage per bucket.
            models.Index(
                fields=["environment", "processed_metadata_at"],
                condition=models.Q(status="READY"),
                name="image_env_ready_at",
            ),
            models.Index(
                fields=["environment", "deleted_at"],
                condition=models.Q(deleted_at__isnull=False),
                name="image_env_deleted_at",
            ),
            # The reconciler: the latest claims of each queue.
            models.Index(
                fields=["enqueued_to", "processing_started_at"], name="image_queue_claims"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="image_idempotency_key_unique_per_environment",
            )
        ]

    def __str__(self) -> str:
        return f"{self.original_filename} ({self.status})"

    @property
    def incoming_key(self) -> str:
        return incoming_key(self.environment_id, self.id)

    @property
    def original_key(self) -> str:
        return original_key(self.environment_id, self.id)

    @property
    def cdn_url(self) -> str:
        # None when the environment has no custom domain (with_environment() joins it).
        domain = getattr(self.environment, "custom_domain", None)
        if domain is not None and domain.is_connected:
            return f"https://{domain.hostname}/{self.id}"
        return (
            f"{settings.IMGWIRE_CDN_URL}/{self.environment.organization_id}/"
            f"{self.environment_id}/{self.id}"
        )

    @property
    def can_upload(self) -> bool:
        return (
            self.status == ImageStatus.PENDING
            and self.bytes_received_at is None
            and self.deleted_at is None
        )

    @property
    def is_directly_deliverable(self) -> bool:
        return self.mime_type in DIRECTLY_DELIVERABLE


class DownloadStatus(models.TextChoices):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    READY = "READY"
    FAILED = "FAILED"


class ImageDownloadJobQuerySet(models.QuerySet):
    def for_environment(self, environment):
        return self.filter(environment=environment)

    def expired(self, now):
        return self.filter(expires_at__lt=now)


class ImageDownloadJob(models.Model):
    """A zip of READY images, built in the background and fetched through a short-lived URL
    until it expires (then the archive and the job are removed)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    environment = models.ForeignKey(
        "environments.Environment", on_delete=models.CASCADE, related_name="download_jobs"
    )
    status = models.CharField(
        max_length=16, choices=DownloadStatus.choices, default=DownloadStatus.PENDING
    )
    image_ids = models.JSONField(default=list)
    failure_reason = models.CharField(max_length=500, blank=True, default="")
    size_bytes = models.BigIntegerField(default=0)
    processing_started_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ImageDownloadJobQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="download_job_expiry")]

    def __str__(self) -> str:
        return f"download {self.id} ({self.status})"

    @property
    def archive_key(self) -> str:
        return f"downloads/{self.environment_id}/{self.id}.zip"


class RenderLock(models.Model):
    """Single-flight for variant renders: the request that inserts the row renders; the
    others wait for the stored variant. Written only on a cache miss, never per request."""

    key = models.CharField(max_length=255, primary_key=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key
