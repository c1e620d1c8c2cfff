"""Every environment created before signing secrets existed gets one."""

from django.db import migrations


def create_missing(apps, schema_editor):
    # The secret's creation is keys.signing's, but a migration must not import models; the
    # same two steps (random secret, encrypted) on the historical model.
    from keys.crypto import encrypt
    from keys.signing import _new_secret

    Environment = apps.get_model("environments", "Environment")
    SigningSecret = apps.get_model("keys", "SigningSecret")
    current = SigningSecret.objects.filter(valid_until__isnull=True).values("environment_id")
    missing = Environment.objects.exclude(id__in=current)
    for environment in missing.iterator():
        plaintext = _new_secret()
        SigningSecret.objects.create(
            environment=environment, ciphertext=encrypt(plaintext), last4=plaintext[-4:]
        )


class Migration(migrations.Migration):
    dependencies = [("keys", "0002_signing_secret")]

    operations = [migrations.RunPython(create_missing, migrations.RunPython.noop)]
