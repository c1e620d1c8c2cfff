"""The plan's upload limit under real concurrency on PostgreSQL: each request runs in its
own thread with its own database connection, as parallel web requests would."""

import threading
from datetime import timedelta
from unittest import mock

import pytest
from django.db import DatabaseError, connection
from django.utils import timezone

from environments.models import BillingPlan, UploadQuotaCounter
from environments.quotas import check_upload_allowed
from environments.services import organization_update
from environments.upload_quota import upload_slots_used
from images.models import Image, ImageStatus
from images.services.maintenance import images_expire_abandoned
from images.services.uploads import UploadRequest, image_create_standard_upload
from keys.authentication import Access
from tests.conftest import make_tenant
from tests.uploads import create_upload

pytestmark = pytest.mark.django_db(transaction=True)

PARALLEL = 8


@pytest.fixture
def tenant():
    return make_tenant("quota")


def on_plan(tenant, *, upload_limit: int, already_used: int) -> None:
    plan = BillingPlan.objects.create(name="Starter", upload_limit=upload_limit)
    organization_update(
        organization=tenant.organization,
        billing_plan=plan,
        current_quota_period_start_at=timezone.now() - timedelta(days=1),
        current_quota_period_end_at=timezone.now() + timedelta(days=29),
    )
    for index in range(already_used):
        Image.objects.create(
            environment=tenant.environment,
            original_filename=f"earlier-{index}.jpg",
            extension="jpg",
            mime_type="image/jpeg",
            status=ImageStatus.READY,
            bytes_received_at=timezone.now(),
        )


def in_parallel(request, count: int = PARALLEL) -> list:
    """Run ``request()`` in ``count`` threads at once; each closes its own connection."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index):
        try:
            barrier.wait(timeout=30)
            results[index] = request()
        except BaseException as error:  # reported by the assertions, not lost in a thread
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture
def everyone_passes_the_read_check_first():
    """Hold each request after the read-only usage check until all of them have done it:
    the worst interleaving, every request sees "one left" before any of them commits."""
    barrier = threading.Barrier(PARALLEL)

    def checked(environment, **kwargs):
        check_upload_allowed(environment, **kwargs)
        barrier.wait(timeout=30)

    with mock.patch("images.services.uploads.check_upload_allowed", side_effect=checked):
        yield


def test_parallel_creations_with_one_upload_left_give_exactly_one_image(
    tenant, everyone_passes_the_read_check_first
):
    on_plan(tenant, upload_limit=3, already_used=2)
    responses = in_parallel(lambda: create_upload(tenant.browser))
    statuses = sorted(getattr(r, "status_code", repr(r)) for r in responses)
    assert statuses == [200] + [402] * (PARALLEL - 1)
    refused = [r.json() for r in responses if r.status_code == 402]
    assert {body["error_type"] for body in refused} == {"PaymentRequiredError"}
    assert "used 3 of the 3 uploads" in refused[0]["detail"]
    assert Image.objects.filter(environment=tenant.environment).count() == 3
    assert upload_slots_used(tenant.organization) == 3


def test_parallel_retries_with_one_idempotency_key_all_get_the_one_image(tenant):
    on_plan(tenant, upload_limit=1, already_used=0)
    responses = in_parallel(
        lambda: create_upload(tenant.server, file_name="same.jpg", idempotency_key="last-slot")
    )
    assert [getattr(r, "status_code", repr(r)) for r in responses] == [200] * PARALLEL
    assert len({r.json()["image"]["id"] for r in responses}) == 1
    assert upload_slots_used(tenant.organization) == 1


def test_a_creation_that_fails_after_taking_its_slot_gives_it_back(tenant):
    on_plan(tenant, upload_limit=1, already_used=0)
    access = Access(environment=tenant.environment, key=None)
    with (
        mock.patch.object(Image.objects, "create", side_effect=DatabaseError("disk full")),
        pytest.raises(DatabaseError),
    ):
        image_create_standard_upload(access=access, request=UploadRequest(file_name="a.jpg"))
    assert not upload_slots_used(tenant.organization)  # rolled back with the failed insert
    assert create_upload(tenant.server).status_code == 200
    assert upload_slots_used(tenant.organization) == 1


def test_an_abandoned_upload_gives_its_slot_back_and_a_deleted_image_does_not(tenant):
    on_plan(tenant, upload_limit=2, already_used=0)
    abandoned = create_upload(tenant.server, file_name="abandoned.jpg").json()["image"]["id"]
    kept = create_upload(tenant.server, file_name="kept.jpg").json()["image"]["id"]
    assert create_upload(tenant.server).status_code == 402
    Image.objects.filter(id=kept).update(bytes_received_at=timezone.now())
    assert images_expire_abandoned(now=timezone.now() + timedelta(days=30)) == 1
    assert not Image.objects.filter(id=abandoned).exists()
    assert upload_slots_used(tenant.organization) == 1
    assert tenant.server.delete(f"/api/v1/images/{kept}").status_code == 200
    assert upload_slots_used(tenant.organization) == 1  # deleting does not give an upload back
    assert create_upload(tenant.server).status_code == 200
    assert create_upload(tenant.server).status_code == 402
    assert UploadQuotaCounter.objects.get().used == 2
