"""The CDN lookup on a real PostgreSQL: one prepared statement per connection, planned once,
and Django's cursor whenever that cannot be (images/delivery/lookup.py)."""

import logging

import pytest
from django.db import connection
from django.test.utils import override_settings
from django.utils import timezone

from environments.models import Organization
from images.delivery import lookup
from images.delivery.lookup import FETCHED, find_deliverable
from images.models import Image, ImageStatus
from tests.environments.test_quotas import on_plan, stored_image

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def fresh_session():
    """Each test starts on a new database session (prepared statements live per session)."""
    connection.close()
    yield
    connection.close()


def address(image):
    return image.environment.organization_id, image.environment_id, image.id


def prepared_lookups() -> list[str]:
    """The names of the session's prepared statements that are the lookup."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, statement FROM pg_prepared_statements")
        return [name for name, sql in cursor.fetchall() if 'FROM "images_image"' in sql]


def values(found) -> dict:
    organization = found.environment.organization
    plan = organization.billing_plan
    return {
        "image": {name: getattr(found, name) for name in FETCHED[Image]},
        "organization": {name: getattr(organization, name) for name in FETCHED[Organization]},
        "plan": plan and (plan.transfer_bytes_limit, plan.transformations_limit),
    }


def test_the_lookup_is_one_prepared_statement_reused_by_every_request(owner):
    images = [stored_image(owner.environment) for _ in range(3)]
    for image in images * 2:
        assert find_deliverable(*address(image)).id == image.id
    assert len(prepared_lookups()) == 1


def test_the_prepared_lookup_returns_what_django_s_cursor_returns(owner, outsider):
    on_plan(owner.organization, transformations_limit=500, transfer_bytes_limit=10**9)
    Organization.objects.filter(id=owner.organization.id).update(blocked=True)
    images = [
        stored_image(owner.environment, width=40, height=30, orientation=6, has_alpha=True),
        stored_image(outsider.environment, is_animated=True),
    ]
    for image in images:
        prepared = values(find_deliverable(*address(image)))
        with override_settings(IMGWIRE_DATABASE_PREPARED_LOOKUP=False):
            through_django = values(find_deliverable(*address(image)))
        assert prepared == through_django
        assert prepared["organization"]["current_quota_period_start_at"] == (
            Organization.objects.get(
                id=image.environment.organization_id
            ).current_quota_period_start_at
        )
    assert prepared_lookups()


def test_images_that_may_not_be_delivered_are_not_found_by_the_prepared_lookup(owner, outsider):
    pending = stored_image(owner.environment, status=ImageStatus.PENDING)
    deleted = stored_image(owner.environment, deleted_at=timezone.now())
    ready = stored_image(owner.environment)
    assert find_deliverable(*address(pending)) is None
    assert find_deliverable(*address(deleted)) is None
    assert find_deliverable(outsider.organization.id, ready.environment_id, ready.id) is None
    assert find_deliverable(*address(ready)).id == ready.id
    assert prepared_lookups()


def test_a_session_that_lost_its_prepared_statement_still_answers_through_django(owner, caplog):
    image = stored_image(owner.environment)
    assert find_deliverable(*address(image)).id == image.id
    (name,) = prepared_lookups()
    with connection.cursor() as cursor:
        # Gone behind psycopg's back, as on a pooler that handed over another session.
        cursor.execute(f'DEALLOCATE "{name}"')
    with caplog.at_level(logging.WARNING, logger="images.delivery.lookup"):
        assert find_deliverable(*address(image)).id == image.id
        assert find_deliverable(*address(image)).id == image.id
    assert len([r for r in caplog.records if "prepared statement failed" in r.message]) == 1
    assert prepared_lookups() == []  # not prepared again on that session


def test_with_prepared_lookups_off_nothing_is_prepared(owner):
    image = stored_image(owner.environment)
    with override_settings(IMGWIRE_DATABASE_PREPARED_LOOKUP=False):
        assert find_deliverable(*address(image)).id == image.id
    assert prepared_lookups() == []
    assert lookup._compiled  # the lookup itself still ran compiled
