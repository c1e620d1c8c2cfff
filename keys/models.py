import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class ApiKeyType(models.TextChoices):
    CLIENT = "CLIENT"
    SERVER = "SERVER"


CLIENT_KEY_DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024
CLIENT_KEY_MIN_UPLOAD_BYTES = 5 * 1024
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
CLIENT_KEY_MIN_PENDING_UPLOADS = 5
CLIENT_KEY_DEFAULT_PENDING_UPLOADS = 100


class ApiKeyQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)

    def for_environment(self, environment):
        return self.filter(environment=environment)


class ApiKey(models.Model):
    """A credential scoped to one environment.

    The secret is never stored: only a lookup prefix (indexed, not secret on its own) and a
    keyed hash of the whole secret, compared in constant time.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    environment = models.ForeignKey(
        "environments.Environment", on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    key_type = models.CharField(max_length=8, choices=ApiKeyType.choices)
    prefix = models.CharField(max_length=32, unique=True)
    secret_hash = models.CharField(max_length=64)
    last4 = models.CharField(max_length=4)
    scopes = models.JSONField(default=list, blank=True)
    allow_unsigned_upload = models.BooleanField(default=True)
    maximum_upload_bytes = models.BigIntegerField(null=True, blank=True)
    allowed_mime_types = models.JSONField(null=True, blank=True)
    maximum_pending_uploads = models.IntegerField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The member a dashboard uploader key was minted for (images/views_upload.py), so their
    # uploads are found by who they are, not by a name that holds their email address at
    # the time; None for the keys people create.
    minted_for = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key_type.lower()} …{self.last4})"

    @property
    def is_server(self) -> bool:
        return self.key_type == ApiKeyType.SERVER

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def effective_maximum_upload_bytes(self) -> int:
        if self.is_server:
            return MAX_UPLOAD_BYTES
        return self.maximum_upload_bytes or CLIENT_KEY_DEFAULT_MAX_UPLOAD_BYTES


class UploadTokenQuerySet(models.QuerySet):
    def usable(self):
        return self.filter(used_at__isnull=True, expires_at__gt=timezone.now())


class UploadToken(models.Model):
    """A single-use, short-lived permission for one browser upload with a Client Key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    environment = models.ForeignKey(
        "environments.Environment", on_delete=models.CASCADE, related_name="upload_tokens"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UploadTokenQuerySet.as_manager()

    def __str__(self) -> str:
        return f"upload token {self.id}"


class SigningSecretQuerySet(models.QuerySet):
    def for_environment(self, environment):
        return self.filter(environment=environment)

    def current(self):
        return self.filter(valid_until__isnull=True)

    def usable(self, now=None):
        """The current secret and any rotated one still inside its overlap."""
        now = now or timezone.now()
        return self.filter(models.Q(valid_until__isnull=True) | models.Q(valid_until__gt=now))


class SigningSecret(models.Model):
    """The environment's signing secret: what Uploadcare calls the secret key and ImageKit
    the private key. Stored encrypted (keys/crypto.py), never in plain text.

    ``valid_until`` is empty for the current secret; rotation sets it on the old one to the
    end of the overlap, during which signatures made with either are accepted.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    environment = models.ForeignKey(
        "environments.Environment", on_delete=models.CASCADE, related_name="signing_secrets"
    )
    ciphertext = models.TextField()
    last4 = models.CharField(max_length=4)
    valid_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SigningSecretQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            # Two concurrent rotations cannot both leave a current secret.
            models.UniqueConstraint(
                fields=["environment"],
                condition=models.Q(valid_until__isnull=True),
                name="one_current_signing_secret",
            )
        ]

    def __str__(self) -> str:
        return f"signing secret …{self.last4}"
