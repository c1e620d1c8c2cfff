"""The migration that gave uploader keys their member links the keys minted before it."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from keys.models import ApiKey

BEFORE = [("keys", "0003_signing_secrets_for_existing_environments")]
AFTER = [("keys", "0004_apikey_minted_for")]


@pytest.mark.django_db(transaction=True)
def test_uploader_keys_minted_before_the_migration_are_linked_to_their_member(owner):
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    Key = apps.get_model("keys", "ApiKey")

    def key(name: str, prefix: str):
        return Key.objects.create(
            environment_id=owner.environment.id, name=name, key_type="CLIENT", prefix=prefix,
            secret_hash="x", last4="abcd",
        ).id  # fmt: skip

    theirs = key("Dashboard uploader (owner@example.com)", "pk_test_1")
    gone = key("Dashboard uploader (left@example.com)", "pk_test_2")
    named = key("Dashboard uploader for the shop", "pk_test_3")
    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    assert ApiKey.objects.get(id=theirs).minted_for_id == owner.user.id
    assert ApiKey.objects.get(id=gone).minted_for_id is None
    assert ApiKey.objects.get(id=named).minted_for_id is None
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
