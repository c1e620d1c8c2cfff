"""Environment names are unique per organization without regard to case, in the database
too: the service's check alone cannot hold two requests at once on SQLite (no row locks)."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from environments.lifecycle import EnvironmentRuleError, environment_create_checked
from environments.models import Environment

BEFORE = [("environments", "0003_upload_quota_counter")]
AFTER = [("environments", "0004_environment_names_unique_ci")]


def test_the_database_refuses_a_name_that_differs_only_by_case(owner):
    with pytest.raises(IntegrityError), transaction.atomic():
        Environment.objects.create(organization=owner.organization, name="PRODUCTION")
    assert environment_create_checked(organization=owner.organization, name="Staging")


def test_the_service_says_which_name_is_taken(owner):
    with pytest.raises(EnvironmentRuleError, match="An environment named Production already"):
        environment_create_checked(organization=owner.organization, name="production")


@pytest.mark.django_db(transaction=True)
def test_the_migration_renames_names_that_differ_only_by_case_before_it_constrains_them():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Organization = apps.get_model("environments", "Organization")
    Environment_ = apps.get_model("environments", "Environment")
    first, second = Organization.objects.create(name="a"), Organization.objects.create(name="b")
    for name in ("Prod", "prod", "PROD", "Other"):
        Environment_.objects.create(organization=first, name=name)
    Environment_.objects.create(organization=second, name="prod")
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)
    named = Environment.objects.values_list("name", flat=True)
    assert sorted(named.filter(organization_id=first.id)) == [
        "Other",
        "PROD (3)",
        "Prod",
        "prod (2)",
    ]
    # Another organization's "prod" was never a duplicate.
    assert list(named.filter(organization_id=second.id)) == ["prod"]
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
