import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from environments.models import BillingPlan, Environment, Membership, Organization

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
