"""What a member granted a client: the environment it acts in and the scopes it asked for.

DOT keeps the applications and tokens; a token is tied to its grant by (user, application),
so re-consenting replaces the grant and revoking it ends every token of that pair at once.
"""

import uuid

from django.conf import settings
from django.db import models
from oauth2_provider.models import AccessToken, RefreshToken


class AgentGrantQuerySet(models.QuerySet):
    def for_member(self, user):
        return self.filter(user=user).select_related("application", "environment__organization")


class AgentGrant(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    application = models.ForeignKey("oauth2_provider.Application", on_delete=models.CASCADE)
    organization = models.ForeignKey("environments.Organization", on_delete=models.CASCADE)
    environment = models.ForeignKey("environments.Environment", on_delete=models.CASCADE)
    scopes = models.CharField(max_length=200)  # space-separated, as OAuth writes them
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = AgentGrantQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "application"], name="agent_grant_one_per_client"
            )
        ]

    def __str__(self) -> str:
        return f"{self.application} for {self.user} in {self.environment_id}"

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    def tokens(self):
        return AccessToken.objects.filter(user=self.user, application=self.application)

    def refresh_tokens(self):
        return RefreshToken.objects.filter(user=self.user, application=self.application)


class SignedInSession(models.Model):
    """A dashboard session of a member, so that "sign out everywhere" can end each one
    without scanning every session of the install (keys/oauth/sessions.py)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.created_at:%Y-%m-%d %H:%M})"
