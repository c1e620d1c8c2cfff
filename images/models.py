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


def versions_prefix(environment_id, image_id) -> str:
    """Earlier versions' bytes of one image (kept after an overwrite), one object each."""
    return f"versions/{environment_id}/{image_id}/"


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

    def tagged(self, name: str):
        # Through ImageTag: its (environment, name, newest) index answers a tag's page
        # without scanning the environment's images (docs/benchmarks.md has the plan).
        return self.filter(tag_rows__name=name)

    def in_folder(self, path: str, *, recursive: bool = False):
        if not recursive:
            return self.filter(folder=path)
        if path == "/":
            return self
        return self.filter(models.Q(folder=path) | models.Q(folder__startswith=path + "/"))

    def at_path(self, folder: str, file_name: str):
        """Live, settled images at a file path (the one an overwrite replaces): staging
        uploads of a new version are not files of their own."""
        return self.alive().filter(folder=folder, file_name=file_name, replaces__isnull=True)

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
    # The claim's lease (images/services/leases.py), held by a PUT and then by processing:
    # renewed while the work runs, so a dead holder's claim lapses within seconds.
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    lease_holder = models.CharField(max_length=100, blank=True, default="")
    processed_metadata_at = models.DateTimeField(null=True, blank=True)
    # The library (docs/library.md): tags, a folder and a name in it, versions, privacy.
    tags = models.JSONField(default=list, blank=True)
    folder = models.CharField(max_length=1024, default="/")
    file_name = models.CharField(max_length=255, blank=True, default="")
    is_private = models.BooleanField(default=False)
    custom_coordinates = models.CharField(max_length=64, blank=True, default="")
    version = models.PositiveIntegerField(default=1)
    version_id = models.UUIDField(default=uuid.uuid4, editable=False)
    # A staging upload: once READY, its bytes become the next version of ``replaces``
    # (images/services/versions.py) and the staging row goes away.
    replaces = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What the staging upload overwrites: {"tags": bool, "custom_metadata": bool}.
    overwrite = models.JSONField(default=dict, blank=True)
    # Holds its path alone (images.services.library LibraryRequest.claims_path).
    claims_path = models.BooleanField(default=False)
    # The promotion claim on the replaced image: one version is written at a time.
    versioning_since = models.DateTimeField(null=True, blank=True)
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
            models.Index(
                fields=["environment", "folder", "file_name"],
                condition=models.Q(deleted_at__isnull=True),
                name="image_env_path",
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
            ),
            # Two files never hold one claimed path: quarantined uploads hold none, a
            # staging upload (replaces set) becomes a version of the file that holds it.
            models.UniqueConstraint(
                fields=["environment", "folder", "file_name"],
                condition=models.Q(claims_path=True, deleted_at__isnull=True, replaces__isnull=True)
                & ~models.Q(status="QUARANTINE"),
                name="image_claimed_path_unique",
            ),
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
    def file_path(self) -> str:
        name = self.file_name or self.original_filename.replace("\\", "/").rsplit("/", 1)[-1]
        return f"{self.folder.rstrip('/')}/{name}"

    @property
    def version_name(self) -> str:
        return f"Version {self.version}"

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


class ImageTagQuerySet(models.QuerySet):
    def page_of(self, environment, name: str):
        """A tag's images, newest first, read from the (environment, name, newest) index.
        Rows exist for live images only: deleting an image deletes its tag rows."""
        return self.filter(environment=environment, name=name).order_by(
            "-image_created_at", "-image_id"
        )


class ImageTag(models.Model):
    """One tag of one image, for finding an environment's images by tag (the image's own
    ``tags`` list is what is shown; the two are written together by the library service)."""

    environment = models.ForeignKey(
        "environments.Environment", on_delete=models.CASCADE, related_name="+"
    )
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="tag_rows")
    name = models.CharField(max_length=100)
    # The image's own order, copied so a tag's newest-first page is read from this index.
    image_created_at = models.DateTimeField()

    objects = ImageTagQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["image", "name"], name="image_tag_unique")]
        indexes = [
            models.Index(
                fields=["environment", "name", "-image_created_at", "-image"],
                name="image_tag_env_newest",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Folder(models.Model):
    """A folder of an environment's library; created on demand by the uploads into it."""

    environment = models.ForeignKey(
        "environments.Environment", on_delete=models.CASCADE, related_name="folders"
    )
    path = models.CharField(max_length=1024)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["environment", "path"], name="folder_path_unique")
        ]

    def __str__(self) -> str:
        return self.path

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1] or "/"


class ImageVersion(models.Model):
    """An earlier version of an image, replaced by an overwrite; its bytes stay readable."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    version_id = models.UUIDField()
    mime_type = models.CharField(max_length=32, choices=SupportedMimeType.choices)
    size_bytes = models.BigIntegerField(default=0)
    width = models.IntegerField(default=0)
    height = models.IntegerField(default=0)
    hash_sha256 = models.CharField(max_length=64, null=True, blank=True)
    storage_key = models.CharField(max_length=255)
    # When this version was the current one.
    created_at = models.DateTimeField()
    replaced_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["image", "number"], name="image_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.image_id} v{self.number}"

    @property
    def name(self) -> str:
        return f"Version {self.number}"


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
    # Reconciling (images/services/maintenance.py): when the broker took the build message
    # (None: never confirmed), the claim's lease, and the claims so far (capped).
    enqueued_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    lease_holder = models.CharField(max_length=100, blank=True, default="")
    attempts = models.SmallIntegerField(default=0)
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
