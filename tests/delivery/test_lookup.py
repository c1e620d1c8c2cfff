"""The delivery lookup: Image.objects.deliverable(), compiled once and re-run per request."""

import dataclasses
import itertools
import sqlite3
import uuid
from types import SimpleNamespace

import pytest
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, transaction
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from environments.models import EnforcementMode, Organization
from environments.quotas import check_delivery_allowed
from images.delivery import lookup
from images.delivery.lookup import FETCHED, find_deliverable
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


# --- the lean SQLite path ------------------------------------------------------------------


@pytest.fixture
def database():
    return connections[DEFAULT_DB_ALIAS]


@pytest.fixture
def on_sqlite(database):
    if database.vendor != "sqlite":
        pytest.skip("the lean path is SQLite's; other databases keep Django's cursor")
    assert not database.queries_logged and not database.execute_wrappers


def compiled(database) -> lookup._Compiled:
    """The lookup as compiled for this connection (compiling it if need be)."""
    find_deliverable(uuid.uuid4(), uuid.uuid4(), uuid.uuid4())
    return lookup._compiled[database]


def loaded(image) -> dict:
    """Everything the lookup put in the instances it built, by model."""
    environment = image.environment
    organization = environment.organization
    instances = {
        "image": image,
        "environment": environment,
        "organization": organization,
        "plan": organization.billing_plan,
    }
    return {
        name: None
        if instance is None
        else (
            {k: (type(v), v) for k, v in vars(instance).items() if k != "_state"},
            set(instance._state.fields_cache),
            instance._state.db,
        )
        for name, instance in instances.items()
    }


def test_with_queries_not_logged_sqlite_runs_the_lookup_without_django_s_cursor(
    owner, database, on_sqlite, monkeypatch
):
    image = stored_image(owner.environment)
    deleted = stored_image(owner.environment, deleted_at=timezone.now())
    compiled(database)

    def refused():
        raise AssertionError("the lookup went through Django's cursor")

    monkeypatch.setattr(database, "cursor", refused)
    found = find_deliverable(*ids(image))
    assert found.id == image.id and found.hash_sha256 == image.hash_sha256
    assert find_deliverable(*ids(deleted)) is None


def test_the_lean_sqlite_sql_is_what_django_s_cursor_would_send(database, on_sqlite):
    lean = compiled(database)
    assert "%s" in lean.sql and "%s" not in lean.sqlite_sql
    with database.cursor() as cursor:
        assert cursor.cursor.convert_query(lean.sql) == lean.sqlite_sql


def test_the_lean_sqlite_path_returns_what_the_django_cursor_path_returns(
    owner, outsider, database
):
    on_plan(owner.organization, transformations_limit=500, transfer_bytes_limit=10**9)
    Organization.objects.filter(id=owner.organization.id).update(blocked=True)
    Organization.objects.filter(id=outsider.organization.id).update(billing_plan=None)
    images = [
        stored_image(owner.environment, width=40, height=30, orientation=6, has_alpha=True),
        stored_image(outsider.environment, is_animated=True),
    ]
    for image in images:
        lean = find_deliverable(*ids(image))
        with CaptureQueriesContext(database) as captured:  # logged: through Django's cursor
            through_django = find_deliverable(*ids(image))
        assert len(captured) == 1
        assert loaded(lean) == loaded(through_django)
        expected = Image.objects.select_related("environment__organization").get(id=image.id)
        organization = lean.environment.organization
        for name in FETCHED[Image]:
            assert getattr(lean, name) == getattr(expected, name), name
        for name in FETCHED[Organization]:
            want = getattr(expected.environment.organization, name)
            assert getattr(organization, name) == want, name
    on_a_plan, planless = (find_deliverable(*ids(image)) for image in images)
    organization = on_a_plan.environment.organization
    assert organization.blocked is True
    assert organization.billing_plan.transformations_limit == 500
    assert organization.current_quota_period_start_at.tzinfo is not None
    assert planless.is_animated is True
    assert planless.environment.organization.billing_plan is None


def test_a_broken_transaction_still_refuses_the_lookup(owner):
    image = stored_image(owner.environment)
    with transaction.atomic():
        transaction.set_rollback(True)  # as after a database error caught inside the block
        with pytest.raises(TransactionManagementError):
            find_deliverable(*ids(image))
    assert find_deliverable(*ids(image)).id == image.id


def test_a_database_error_on_the_lean_path_is_raised_as_django_s(
    owner, database, on_sqlite, monkeypatch
):
    lean = compiled(database)
    broken = lean.sqlite_sql.replace('"images_image"."mime_type"', '"images_image"."no_such"')
    monkeypatch.setitem(lookup._compiled, database, dataclasses.replace(lean, sqlite_sql=broken))
    with pytest.raises(OperationalError, match="no_such") as caught:
        find_deliverable(*ids(stored_image(owner.environment)))
    assert not isinstance(caught.value, sqlite3.Error)
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)


def test_query_counting_and_execute_wrappers_still_see_the_one_query(
    owner, database, django_assert_num_queries
):
    image = stored_image(owner.environment)
    with django_assert_num_queries(1) as captured:
        assert find_deliverable(*ids(image)).id == image.id
    assert '"images_image"."hash_sha256"' in captured[0]["sql"]
    seen = []

    def wrapper(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with database.execute_wrapper(wrapper):
        assert find_deliverable(*ids(image)).id == image.id
    assert seen == [compiled(database).sql]


@pytest.mark.parametrize("native", [False, True])
def test_ids_are_prepared_as_their_uuid_field_prepares_them(native):
    database = SimpleNamespace(features=SimpleNamespace(has_native_uuid_field=native))
    values = (uuid.uuid4(), str(uuid.uuid4()), uuid.uuid4().hex.upper(), None)
    expected = [Image._meta.pk.get_db_prep_value(value, database) for value in values]
    assert lookup._prepare_ids(values, not native, database) == expected
