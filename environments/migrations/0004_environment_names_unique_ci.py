import django.db.models.functions.text
from django.db import migrations, models


def rename_case_duplicates(apps, schema_editor):
    """Names that differ only by case could coexist before this constraint (two requests at
    once): the later ones get " (2)", " (3)"… so the constraint can be added."""
    Environment = apps.get_model("environments", "Environment")
    taken_by_organization: dict = {}
    for environment in Environment.objects.order_by("organization_id", "created_at", "id"):
        taken = taken_by_organization.setdefault(environment.organization_id, set())
        name, n = environment.name, 2
        while name.lower() in taken:
            suffix = f" ({n})"
            name = environment.name[: 100 - len(suffix)] + suffix
            n += 1
        taken.add(name.lower())
        if name != environment.name:
            environment.name = name
            environment.save(update_fields=["name"])


class Migration(migrations.Migration):
    dependencies = [
        ("environments", "0003_upload_quota_counter"),
    ]

    operations = [
        migrations.RunPython(rename_case_duplicates, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name="environment",
            name="environment_names_unique_per_organization",
        ),
        migrations.AddConstraint(
            model_name="environment",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("name"),
                models.F("organization"),
                name="environment_names_unique_per_organization_ci",
                violation_error_message=(
                    "An environment with this name already exists in the organization "
                    "(names are compared without regard to case)."
                ),
            ),
        ),
    ]
