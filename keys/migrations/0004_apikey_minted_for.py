import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

PREFIX, SUFFIX = "Dashboard uploader (", ")"


def link_uploader_keys(apps, schema_editor):
    """Existing uploader keys are named after their member's address (or user name) of the
    time they were minted: link those that still match a user."""
    ApiKey = apps.get_model("keys", "ApiKey")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    for key in ApiKey.objects.filter(name__startswith=PREFIX, minted_for__isnull=True):
        if not key.name.endswith(SUFFIX):
            continue  # cut at 100 characters: its address is not whole
        who = key.name[len(PREFIX) : -len(SUFFIX)]
        user = User.objects.filter(email=who).first() or User.objects.filter(username=who).first()
        if user is not None:
            key.minted_for_id = user.pk
            key.save(update_fields=["minted_for"])


class Migration(migrations.Migration):
    dependencies = [
        ("keys", "0003_signing_secrets_for_existing_environments"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="minted_for",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(link_uploader_keys, migrations.RunPython.noop),
    ]
