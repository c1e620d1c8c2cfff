"""Environment lifecycle for the dashboard: rename, mark default, delete.

Creation stays ``environments.services.environment_create``.
"""

from django.db import IntegrityError, transaction

from environments.models import Environment


class EnvironmentRuleError(ValueError):
    """A change that would break an environment rule (unique names, one default, one left)."""


def _locked(organization) -> list[Environment]:
    return list(
        Environment.objects.select_for_update().filter(organization=organization).order_by("id")
    )


@transaction.atomic
def environment_create_checked(*, organization, name: str) -> Environment:
    from environments.services import environment_create

    _locked(organization)
    # Case-insensitive: "production" next to "Production" reads as the same environment.
    taken = Environment.objects.filter(organization=organization, name__iexact=name).first()
    if taken is not None:
        raise EnvironmentRuleError(f"An environment named {taken.name} already exists.")
    try:
        with transaction.atomic():
            return environment_create(organization=organization, name=name)
    except IntegrityError:  # made at the same moment by another request
        raise EnvironmentRuleError(f"An environment named {name} already exists.") from None


@transaction.atomic
def environment_rename(*, environment: Environment, name: str) -> Environment:
    _locked(environment.organization)
    taken = (
        Environment.objects.filter(organization=environment.organization_id, name__iexact=name)
        .exclude(pk=environment.pk)
        .first()
    )
    if taken is not None:
        raise EnvironmentRuleError(f"An environment named {taken.name} already exists.")
    environment.name = name
    try:
        with transaction.atomic():
            environment.save(update_fields=["name", "updated_at"])
    except IntegrityError:
        raise EnvironmentRuleError(f"An environment named {name} already exists.") from None
    return environment


@transaction.atomic
def environment_mark_default(*, environment: Environment) -> Environment:
    # Clear first: the partial unique index allows one default per organization.
    _locked(environment.organization)
    Environment.objects.filter(organization=environment.organization_id, is_default=True).exclude(
        pk=environment.pk
    ).update(is_default=False)
    Environment.objects.filter(pk=environment.pk).update(is_default=True)
    environment.is_default = True
    return environment


@transaction.atomic
def environment_delete(*, environment: Environment) -> None:
    """Delete an environment and everything in it; never the organization's last one.

    Its images go through ``images_bulk_delete`` first so their stored objects are purged
    after the commit (a plain cascade would leave the objects behind)."""
    from images.models import Image
    from images.services.deletion import images_bulk_delete

    siblings = [e for e in _locked(environment.organization) if e.pk != environment.pk]
    if not siblings:
        raise EnvironmentRuleError("An organization keeps at least one environment.")
    ids = list(Image.objects.for_environment(environment).values_list("id", flat=True))
    for start in range(0, len(ids), 1000):
        images_bulk_delete(environment=environment, image_ids=ids[start : start + 1000])
    was_default = environment.is_default
    environment.delete()
    if was_default:
        environment_mark_default(environment=siblings[0])
