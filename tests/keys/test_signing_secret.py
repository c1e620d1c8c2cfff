"""The environment signing secret: one per environment, encrypted at rest, rotated with an
overlap (the dashboard's part: tests/dashboard/test_signing_secret.py)."""

from datetime import timedelta
from importlib import import_module
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.utils import timezone

from environments.services import environment_create
from keys.crypto import UnreadableSecret
from keys.models import SigningSecret
from keys.signing import (
    signing_secret_create,
    signing_secret_reveal,
    signing_secret_rotate,
    signing_secrets_usable,
)

pytestmark = pytest.mark.django_db


def test_every_new_environment_gets_a_random_256_bit_signing_secret(owner, outsider):
    mine = signing_secret_reveal(environment=owner.environment)
    theirs = signing_secret_reveal(environment=outsider.environment)
    assert mine.startswith("ss_") and len(mine) >= 3 + 43  # 32 bytes, URL-safe base64
    assert mine != theirs
    staging = environment_create(organization=owner.organization, name="Staging")
    assert signing_secret_reveal(environment=staging) not in (mine, theirs)


def test_the_database_holds_only_ciphertext(owner):
    plaintext = signing_secret_reveal(environment=owner.environment)
    row = SigningSecret.objects.get(environment=owner.environment)
    assert plaintext not in row.ciphertext
    assert plaintext[3:] not in row.ciphertext
    assert row.last4 == plaintext[-4:]


def test_creating_again_keeps_the_current_secret(owner):
    before = signing_secret_reveal(environment=owner.environment)
    signing_secret_create(environment=owner.environment)
    assert signing_secret_reveal(environment=owner.environment) == before
    assert SigningSecret.objects.filter(environment=owner.environment).count() == 1


def test_a_rotated_secret_keeps_verifying_for_the_overlap_then_stops(owner, settings):
    settings.IMGWIRE_SIGNING_SECRET_OVERLAP_SECONDS = 600
    old = signing_secret_reveal(environment=owner.environment)
    now = timezone.now()
    new = signing_secret_rotate(environment=owner.environment, now=now)
    assert new != old
    assert signing_secret_reveal(environment=owner.environment) == new
    assert signing_secrets_usable(environment=owner.environment, now=now) == [new, old]
    later = now + timedelta(seconds=601)
    assert signing_secrets_usable(environment=owner.environment, now=later) == [new]


def test_a_second_rotation_ends_the_first_overlap_at_once(owner):
    first = signing_secret_reveal(environment=owner.environment)
    now = timezone.now()
    second = signing_secret_rotate(environment=owner.environment, now=now)
    third = signing_secret_rotate(environment=owner.environment, now=now)
    usable = signing_secrets_usable(environment=owner.environment, now=now)
    assert usable == [third, second]
    assert first not in usable


def test_secrets_stay_readable_when_a_new_encryption_key_is_put_in_front(owner, settings):
    plaintext = signing_secret_reveal(environment=owner.environment)
    settings.IMGWIRE_ENCRYPTION_KEYS = ("a-new-key-" + "n" * 40, *settings.IMGWIRE_ENCRYPTION_KEYS)
    assert signing_secret_reveal(environment=owner.environment) == plaintext
    settings.IMGWIRE_ENCRYPTION_KEYS = ("only-an-unrelated-key-" + "u" * 40,)
    with pytest.raises(UnreadableSecret):
        signing_secret_reveal(environment=owner.environment)


def test_the_data_migration_gives_existing_environments_a_secret(owner):
    SigningSecret.objects.filter(environment=owner.environment).delete()
    migration = import_module("keys.migrations.0003_signing_secrets_for_existing_environments")
    migration.create_missing(apps, None)
    migration.create_missing(apps, None)  # and runs again harmlessly
    assert SigningSecret.objects.filter(environment=owner.environment).count() == 1
    assert signing_secret_reveal(environment=owner.environment).startswith("ss_")


def test_reencrypt_moves_every_secret_to_the_newest_key_so_the_old_one_can_go(owner, settings):
    plaintext = signing_secret_reveal(environment=owner.environment)
    old_keys = settings.IMGWIRE_ENCRYPTION_KEYS
    settings.IMGWIRE_ENCRYPTION_KEYS = ("the-new-key-" + "k" * 40, *old_keys)
    out = StringIO()
    call_command("reencrypt_secrets", stdout=out)
    assert out.getvalue().startswith("Re-encrypted 1 signing secret")
    settings.IMGWIRE_ENCRYPTION_KEYS = ("the-new-key-" + "k" * 40,)
    assert signing_secret_reveal(environment=owner.environment) == plaintext
