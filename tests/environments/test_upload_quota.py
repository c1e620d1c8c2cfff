"""The upload limit's counter row (environments/upload_quota.py) on the embedded default.

Real races on PostgreSQL: tests/services/test_quota_concurrency.py.
"""

from datetime import timedelta
from ipaddress import ip_network

import pytest
from django.utils import timezone

from environments.lifecycle import environment_delete
from environments.models import UploadQuotaCounter
from environments.services import environment_create, organization_quota_period_reset
from environments.upload_quota import upload_slots_used
from keys.models import ApiKeyType
from keys.services import api_key_create
from tests import sourceserver
from tests.environments.test_quotas import on_plan, refused, stored_image
from tests.uploads import create_upload

pytestmark = pytest.mark.django_db


def test_the_counter_starts_from_the_records_the_period_already_holds(owner):
    on_plan(owner.organization, upload_limit=3)
    stored_image(owner.environment)
    stored_image(owner.environment, created_at=timezone.now() - timedelta(days=3))  # earlier
    assert create_upload(owner.server).status_code == 200
    assert upload_slots_used(owner.organization) == 2


def test_an_unlimited_plan_starts_no_counter(owner):
    assert create_upload(owner.server).status_code == 200
    assert not UploadQuotaCounter.objects.exists()


def test_a_counter_started_under_a_limit_keeps_counting_when_the_limit_is_lifted(owner):
    plan = on_plan(owner.organization, upload_limit=5)
    assert create_upload(owner.server).status_code == 200
    plan.upload_limit = None
    plan.save()
    assert create_upload(owner.server).status_code == 200
    plan.upload_limit = 2
    plan.save()
    assert create_upload(owner.server).status_code == 402
    assert upload_slots_used(owner.organization) == 2


def test_deleting_an_environment_with_its_uploads_gives_no_upload_back(owner):
    on_plan(owner.organization, upload_limit=2)
    staging = environment_create(organization=owner.organization, name="Staging")
    assert create_upload(owner.server).status_code == 200
    _, staging_key = api_key_create(environment=staging, name="s", key_type=ApiKeyType.SERVER)
    assert create_upload(owner.client(staging_key)).status_code == 200
    environment_delete(environment=staging)
    refused(
        create_upload(owner.server),
        "This organization has used 2 of the 2 uploads of the Starter plan for the period "
        "ending 2099-01-01; upgrade the plan or wait for the next period.",
    )


def test_a_new_quota_period_gets_its_own_counter(owner):
    on_plan(owner.organization, upload_limit=1)
    assert create_upload(owner.server).status_code == 200
    assert create_upload(owner.server).status_code == 402
    owner.organization.refresh_from_db()
    organization_quota_period_reset(organization=owner.organization)
    assert create_upload(owner.server).status_code == 200
    assert UploadQuotaCounter.objects.count() == 2
    assert upload_slots_used(owner.organization) == 1


source_server = sourceserver.source_server


def test_a_failed_upload_via_url_gives_its_slot_back(owner, source_server, settings):
    settings.IMGWIRE_URL_FETCH_ALLOWED_NETWORKS = (ip_network("127.0.0.0/8"),)
    settings.IMGWIRE_URL_FETCH_MAX_BYTES = sourceserver.CAP
    on_plan(owner.organization, upload_limit=1)
    response = owner.server.post(
        "/api/v1/images/upload_via_url",
        {"url": source_server.url("/streamed-too-large")},
        format="json",
    )
    assert response.json()["error_type"] == "TooLargeError"  # the record existed, then went
    assert upload_slots_used(owner.organization) == 0
    assert create_upload(owner.server).status_code == 200
