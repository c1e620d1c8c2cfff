"""The delivery lookup: Image.objects.deliverable(), compiled once and re-run per request."""

import itertools

import pytest
from django.utils import timezone

from environments.models import EnforcementMode, Organization
from environments.quotas import check_delivery_allowed
from images.delivery.lookup import find_deliverable
from images.delivery.service import plan_delivery, source_info
from images.models import Image, ImageStatus
from images.transform import parse_transform
from tests.environments.test_quotas import on_plan, stored_image

pytestmark = pytest.mark.django_db


def ids(image: Image, organization_id=None, environment_id=None):
    environment = image.environment
    return (
        organization_id or environment.organization_id,
        environment_id or environment.id,
        image.id,
    )


def test_the_lookup_answers_exactly_like_the_deliverable_queryset(owner, outsider):
    images = [
        stored_image(owner.environment, status=status)
        for status in (ImageStatus.PENDING, ImageStatus.PROCESSING, ImageStatus.QUARANTINE)
    ]
    images.append(stored_image(owner.environment, deleted_at=timezone.now()))
    ready = stored_image(owner.environment)
    images.append(ready)
    foreign = [owner.organization.id, outsider.organization.id]
    environments = [owner.environment.id, outsider.environment.id]
    for image, organization_id, environment_id in itertools.product(images, foreign, environments):
        asked = (organization_id, environment_id, image.id)
        expected = Image.objects.deliverable(*asked).first()
        found = find_deliverable(*asked)
        assert (found and found.id) == (expected and expected.id), asked
    found = find_deliverable(*ids(ready))
    assert found.id == ready.id and found.hash_sha256 == ready.hash_sha256


def test_one_query_loads_everything_a_request_reads_on_a_limited_plan(
    owner, django_assert_num_queries
):
    on_plan(owner.organization, transformations_limit=10**6)
    owner.organization.transformations_enforcement_mode = EnforcementMode.BLOCK_ALL
    owner.organization.save()
    image = stored_image(owner.environment, width=40, height=30, orientation=6)
    with django_assert_num_queries(1):
        found = find_deliverable(*ids(image))
        plan_delivery(found, parse_transform([("width", "20")], None), "image/webp")
        info = source_info(found)
        organization = found.environment.organization
        assert organization.billing_plan.transformations_limit == 10**6
        assert organization.current_quota_period_end_at is not None
    assert info == {
        "mime_type": "image/jpeg",
        "width": 40,
        "height": 30,
        "orientation": 6,
        "is_animated": False,
        "has_alpha": False,
    }
    check_delivery_allowed(organization, is_cached=lambda: True)  # under the limit


def test_fields_delivery_does_not_fetch_still_load_on_access(owner):
    image = stored_image(owner.environment, purpose="avatar")
    found = find_deliverable(*ids(image))
    assert (found.original_filename, found.purpose) == ("photo.jpg", "avatar")
    assert found.environment.name == owner.environment.name
    plan = Organization.objects.get(id=owner.organization.id).billing_plan
    assert found.environment.organization.billing_plan.description == plan.description


def test_an_organization_without_a_plan_is_found_with_none(owner):
    Organization.objects.filter(id=owner.organization.id).update(billing_plan=None)
    found = find_deliverable(*ids(stored_image(owner.environment)))
    assert found.environment.organization.billing_plan is None
