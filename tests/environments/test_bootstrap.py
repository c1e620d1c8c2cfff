import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from environments.models import BillingPlan, Environment, Membership, Organization
from keys.models import ApiKey
from keys.services import api_key_revoke
from keys.signing import signing_secret_reveal

pytestmark = pytest.mark.django_db


def bootstrap(**options) -> dict:
    out = StringIO()
    call_command("bootstrap", stdout=out, **options)
    return json.loads(out.getvalue())


def test_bootstrap_creates_an_organization_environment_owner_and_working_keys():
    result = bootstrap(
        organization="Acme", environment="Staging", email="a@acme.test", password="pw-acme-123"
    )
    assert {"organization_id", "environment_id", "server_key", "client_key", "email"} <= set(result)
    environment = Environment.objects.get(id=result["environment_id"])
    assert str(environment.organization_id) == result["organization_id"]
    assert Membership.objects.get(organization=environment.organization).role == "OWNER"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {result['server_key']}")
    assert client.get("/api/v1/images/").status_code == 200


def test_a_new_organization_is_on_the_unlimited_default_plan_with_a_default_environment():
    result = bootstrap(organization="Acme", environment="Production", email="a@acme.test")
    organization = Organization.objects.get(id=result["organization_id"])
    plan = organization.billing_plan
    assert plan == BillingPlan.objects.get(is_default=True)
    assert plan.upload_limit is None and plan.storage_bytes_limit is None
    assert organization.environments.get(is_default=True).name == "Production"


def test_bootstrap_twice_reuses_what_exists_and_mints_new_keys():
    first = bootstrap(organization="Acme", environment="Production", email="a@acme.test")
    second = bootstrap(organization="Acme", environment="Production", email="a@acme.test")
    assert first["organization_id"] == second["organization_id"]
    assert first["environment_id"] == second["environment_id"]
    assert first["server_key"] != second["server_key"]
    assert Organization.objects.count() == 1


def test_bootstrap_adds_a_missing_environment_to_an_existing_organization():
    first = bootstrap(organization="Acme", environment="Production", email="a@acme.test")
    second = bootstrap(organization="Acme", environment="Staging", email="a@acme.test")
    assert first["organization_id"] == second["organization_id"]
    assert first["environment_id"] != second["environment_id"]


def test_bootstrap_refuses_a_malformed_email():
    with pytest.raises(CommandError):
        bootstrap(organization="Acme", environment="Production", email="nope")


def test_bootstrap_with_reuse_keys_prints_the_kept_keys_again_instead_of_minting_more(
    settings, tmp_path
):
    settings.DATA_DIR = tmp_path
    options = {"organization": "Demo", "environment": "Production", "email": "d@example.com"}
    first = bootstrap(**options, reuse_keys=True)
    second = bootstrap(**options, reuse_keys=True)
    assert second == first
    assert ApiKey.objects.count() == 2
    kept = tmp_path / "demo-account.json"
    assert json.loads(kept.read_text()) == first
    assert kept.stat().st_mode & 0o777 == 0o600


def test_bootstrap_with_reuse_keys_mints_new_keys_when_a_kept_one_was_revoked(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    options = {"organization": "Demo", "environment": "Production", "email": "d@example.com"}
    first = bootstrap(**options, reuse_keys=True)
    api_key_revoke(key=ApiKey.objects.get(id=first["server_key_id"]))
    second = bootstrap(**options, reuse_keys=True)
    assert second["server_key"] != first["server_key"]
    assert json.loads((tmp_path / "demo-account.json").read_text()) == second
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {second['server_key']}")
    assert client.get("/api/v1/images/").status_code == 200


def test_bootstrap_with_reuse_keys_ignores_an_unreadable_kept_file(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    (tmp_path / "demo-account.json").write_text('{"server_key": 1')
    result = bootstrap(
        organization="Demo", environment="Production", email="d@example.com", reuse_keys=True
    )
    assert result["server_key"].startswith("sk_")


def test_bootstrap_prints_the_environments_signing_secret():
    result = bootstrap(organization="Acme", environment="Production", email="a@acme.test")
    environment = Environment.objects.get(id=result["environment_id"])
    assert result["signing_secret"] == signing_secret_reveal(environment=environment)
