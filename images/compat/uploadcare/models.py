"""What Uploadcare knows of a file that Imgwire's image does not: whether it is stored."""

import uuid

from django.db import models
from django.utils import timezone


class UploadcareFileQuerySet(models.QuerySet):
    def unstored_before(self, moment):
        """Temporary files whose 24 hours are over (the reconciler removes their images)."""
        return self.filter(
            stored_at__isnull=True, remove_after__lte=moment, image__deleted_at__isnull=True
        )


class UploadcareFile(models.Model):
    """One per image uploaded through the Uploadcare protocol.

    Uploadcare files are temporary unless stored: ``UPLOADCARE_STORE=0`` leaves
    ``stored_at`` empty and ``remove_after`` 24 hours ahead; ``1`` (or ``auto`` with the
    environment's auto-store on) stores at once.
    """

    image = models.OneToOneField(
        "images.Image", on_delete=models.CASCADE, primary_key=True, related_name="uploadcare"
    )
    stored_at = models.DateTimeField(null=True, blank=True)
    remove_after = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = UploadcareFileQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(
                fields=["remove_after"],
                condition=models.Q(stored_at__isnull=True),
                name="uploadcare_unstored_idx",
            )
        ]

    def __str__(self) -> str:
        return f"uploadcare file {self.image_id}"

    @property
    def is_stored(self) -> bool:
        return self.stored_at is not None


class UploadcareSettings(models.Model):
    """Per-environment settings of the protocol; a missing row means the defaults."""

    environment = models.OneToOneField(
        "environments.Environment",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="uploadcare_settings",
    )
    # Uploadcare's project-wide auto-store, on by default there too: UPLOADCARE_STORE=auto
    # stores the file.
    auto_store = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"uploadcare settings of {self.environment_id}"


class UploadcareMultipart(models.Model):
    """A multipart upload between ``multipart/start/`` and ``multipart/complete/``.

    Parts are stored as objects of their own (``part_key``) and concatenated into the
    image's incoming object when the upload completes; the row goes with its image.
    """

    image = models.OneToOneField(
        "images.Image", on_delete=models.CASCADE, primary_key=True, related_name="multipart"
    )
    size = models.BigIntegerField()
    part_size = models.BigIntegerField()
    # Direct mode: the S3 multipart upload the parts go to (presigned UploadPart URLs).
    s3_upload_id = models.CharField(max_length=1024, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"multipart upload {self.image_id}"

    @property
    def parts_count(self) -> int:
        return -(-self.size // self.part_size)

    def part_length(self, number: int) -> int:
        """Every part is part_size long but the last, which holds what is left."""
        if number < self.parts_count:
            return self.part_size
        return self.size - self.part_size * (self.parts_count - 1)

    def part_key(self, number: int) -> str:
        return f"{self.parts_prefix}{number:05d}"

    @property
    def parts_prefix(self) -> str:
        return f"multipart/{self.image.environment_id}/{self.image_id}/"


class FetchStatus(models.TextChoices):
    WAITING = "waiting"
    PROGRESS = "progress"
    SUCCESS = "success"
    ERROR = "error"


class UploadcareFetch(models.Model):
    """A ``from_url/`` request: its token is this row's id, polled at ``from_url/status/``.

    The fetch itself runs on the broker (images.compat.uploadcare.tasks), through the same
    SSRF-safe fetcher as ``upload_via_url``.
    """

    token = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    environment = models.ForeignKey("environments.Environment", on_delete=models.CASCADE)
    key = models.ForeignKey("keys.ApiKey", on_delete=models.CASCADE)
    source_url = models.TextField()
    filename = models.CharField(max_length=255, blank=True, default="")
    store = models.CharField(max_length=4, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    save_duplicate = models.BooleanField(default=False)
    status = models.CharField(
        max_length=8, choices=FetchStatus.choices, default=FetchStatus.WAITING
    )
    image = models.ForeignKey("images.Image", null=True, blank=True, on_delete=models.SET_NULL)
    error = models.CharField(max_length=500, blank=True, default="")
    error_code = models.CharField(max_length=64, blank=True, default="")
    # How far the fetch has come (total 0: the source did not say); written every MiB.
    done = models.BigIntegerField(default=0)
    total = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"from_url {self.token} ({self.status})"


class UploadcareSourceUrl(models.Model):
    """The URLs ``save_URL_duplicates`` remembers, per environment, for
    ``check_URL_duplicates`` to answer with the file already fetched from them."""

    environment = models.ForeignKey("environments.Environment", on_delete=models.CASCADE)
    url_sha256 = models.CharField(max_length=64)
    image = models.ForeignKey("images.Image", on_delete=models.CASCADE)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["environment", "url_sha256"], name="one_remembered_source_per_url"
            )
        ]

    def __str__(self) -> str:
        return f"source {self.url_sha256[:12]} → {self.image_id}"


class UploadcareGroup(models.Model):
    """An immutable set of files of one environment; its public id is ``<uuid>~<count>``.

    ``files`` keeps each member's image id and the operations (``-/resize/…/``) it was
    added with, in order.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    environment = models.ForeignKey("environments.Environment", on_delete=models.CASCADE)
    files = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.public_id

    @property
    def public_id(self) -> str:
        return f"{self.id}~{len(self.files)}"
