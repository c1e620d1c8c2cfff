"""The environment signing secret: create, reveal, rotate, and the secrets a signature may use.

One per environment, created with it (environments.services.environment_create). The
compatible upload protocols (Uploadcare's signature, ImageKit's private key) verify with
``signing_secrets_usable``: the current secret first, then any rotated one inside its
overlap (IMGWIRE_SIGNING_SECRET_OVERLAP_SECONDS), so backends can be moved to the new
secret without a window in which their signatures fail.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from keys.crypto import decrypt, encrypt, reencrypt
from keys.models import SigningSecret

PREFIX = "ss_"


def _new_secret() -> str:
    # 256 bits of randomness, URL-safe so it survives env files and Basic-auth usernames.
    return PREFIX + secrets.token_urlsafe(32)


def _store(environment, plaintext: str) -> SigningSecret:
    return SigningSecret.objects.create(
        environment=environment, ciphertext=encrypt(plaintext), last4=plaintext[-4:]
    )


def signing_secret_create(*, environment) -> SigningSecret:
    """The environment's current secret, created if it has none (safe to call again)."""
    existing = SigningSecret.objects.for_environment(environment).current().first()
    return existing or _store(environment, _new_secret())


def signing_secret_current(*, environment) -> SigningSecret:
    return SigningSecret.objects.for_environment(environment).current().get()


def signing_secret_reveal(*, environment) -> str:
    return decrypt(signing_secret_current(environment=environment).ciphertext)


@transaction.atomic
def signing_secret_rotate(*, environment, now=None) -> str:
    """Make a new current secret; the old one keeps working until the overlap ends."""
    now = now or timezone.now()
    overlap = timedelta(seconds=settings.IMGWIRE_SIGNING_SECRET_OVERLAP_SECONDS)
    # Ending the old secret's overlap early for any earlier rotation: only one old secret
    # is ever accepted beside the current one.
    SigningSecret.objects.for_environment(environment).filter(valid_until__gt=now).update(
        valid_until=now
    )
    SigningSecret.objects.for_environment(environment).current().update(valid_until=now + overlap)
    plaintext = _new_secret()
    _store(environment, plaintext)
    return plaintext


def signing_secrets_usable(*, environment, now=None) -> list[str]:
    """Plain texts a signature may have been made with, the current secret first."""
    rows = SigningSecret.objects.for_environment(environment).usable(now)
    ordered = sorted(rows, key=lambda row: (row.valid_until is not None, row.valid_until))
    return [decrypt(row.ciphertext) for row in ordered]


def signing_secrets_reencrypt() -> int:
    """Every stored secret under the newest encryption key (after a key rotation)."""
    rows = SigningSecret.objects.only("id", "ciphertext")
    count = 0
    for row in rows.iterator():
        SigningSecret.objects.filter(pk=row.pk).update(ciphertext=reencrypt(row.ciphertext))
        count += 1
    return count
