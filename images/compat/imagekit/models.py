"""The client-side upload tokens already presented: ImageKit lets each be used once."""

from django.db import models
from django.utils import timezone


class SpentTokenQuerySet(models.QuerySet):
    def expired(self, now=None):
        return self.filter(expires_at__lt=now or timezone.now())


class SpentToken(models.Model):
    """A v1 ``token`` (or a v2 JWT's digest) once its signature checked out.

    Kept until its ``expire`` has passed: after that the signature is refused as expired
    anyway, so the row has nothing left to guard (images/compat/imagekit/auth.py forgets
    them).
    """

    environment = models.ForeignKey(
        "environments.Environment", on_delete=models.CASCADE, related_name="+"
    )
    token = models.CharField(max_length=128)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    objects = SpentTokenQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["environment", "token"], name="imagekit_token_once")
        ]
        indexes = [models.Index(fields=["expires_at"], name="imagekit_token_expiry")]

    def __str__(self) -> str:
        return self.token[:12]
