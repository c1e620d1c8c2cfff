"""Query counts of the dashboard's list pages not pinned beside their own tests: each page is
counted with a few rows and with many, and both counts are the number written here, so a
row that costs a query of its own (an N+1) fails the test.

Pinned elsewhere: the keys list (test_keys.py), the grid and the image page
(test_images.py, test_library_pages.py), the overview, team, environments, domains and
metrics pages as environments and CORS origins grow (test_domains_and_metrics.py), the
team page as invitations grow (test_invitations_flow.py), the metrics page as its data
grows (test_metrics_page.py)."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from oauth2_provider.models import get_application_model

from environments.models import Role
from environments.services import environment_create, membership_create, organization_create
from environments.webhooks.models import Attempt, Delivery
from environments.webhooks.services import subscription_create, webhook_event_record
from images.models import Image, ImageStatus
from images.services.downloads import download_job_create
from keys.oauth.services import grant_record
from tests.dashboard.conftest import signed_in

pytestmark = pytest.mark.django_db

HOOK_URL = "https://hooks.example.com/imgwire"


def _queries(client, url: str) -> tuple[int, bytes]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response.content


def _counted(owner, tail: str, add_rows) -> tuple[tuple[int, int], bytes]:
    """The page's queries before and after ``add_rows()``, and what it showed after. The
    first visit is not counted: it writes the session."""
    client = signed_in(owner.user)
    url = f"/dashboard/{owner.environment.id}/{tail}"
    client.get(url)
    few, _ = _queries(client, url)
    add_rows()
    many, content = _queries(client, url)
    return (few, many), content


def _member(organization, email: str, role=Role.DEVELOPER):
    user = get_user_model().objects.create_user(username=email, email=email)
    membership_create(organization=organization, user=user, role=role)
    return user


def test_the_webhooks_list_costs_the_same_queries_with_one_subscription_or_many(owner):
    subscription_create(environment=owner.environment, url=HOOK_URL)

    def add_rows():
        for n in range(6):
            subscription_create(
                environment=owner.environment, url=f"{HOOK_URL}/{n}", events=["image.ready"]
            )

    counts, content = _counted(owner, "webhooks/", add_rows)
    assert content.count(b"Delivery log") == 7
    assert counts == (QUERIES["webhooks"],) * 2


def test_a_webhooks_delivery_log_costs_the_same_queries_with_one_delivery_or_a_full_page(
    owner,
):
    subscription, _ = subscription_create(environment=owner.environment, url=HOOK_URL)

    def deliver(times: int, attempts: int):
        for _ in range(times):
            webhook_event_record(environment=owner.environment, type="image.ready", payload={})
        for delivery in Delivery.objects.filter(attempt_log__isnull=True):
            for latency in range(attempts):
                Attempt.objects.create(
                    delivery=delivery, at=delivery.next_attempt_at, latency_ms=latency
                )

    deliver(1, 1)
    counts, content = _counted(owner, f"webhooks/{subscription.pk}/", lambda: deliver(25, 3))
    assert Attempt.objects.count() == 1 + 25 * 3
    assert content.count(b"image.ready") >= 20  # a full page of the log
    assert counts == (QUERIES["webhook log"],) * 2


def test_the_organization_page_costs_the_same_queries_with_more_members_and_organizations(
    owner,
):
    def add_rows():
        for n in range(4):
            _member(owner.organization, f"m{n}@example.com", Role.OWNER if n % 2 else Role.ADMIN)
            other = organization_create(name=f"Other {n}", owner=owner.user)
            environment_create(organization=other, name="Staging")

    counts, content = _counted(owner, "organization/", add_rows)
    assert b"Other 3" in content  # the header's switcher lists every organization
    assert counts == (QUERIES["organization"],) * 2


def test_the_team_page_costs_the_same_queries_with_one_member_or_many(owner):
    def add_rows():
        for n in range(6):
            _member(owner.organization, f"member{n}@example.com")

    counts, content = _counted(owner, "team/", add_rows)
    assert b"member5@example.com" in content
    assert counts == (QUERIES["team"],) * 2


def test_the_connections_page_costs_the_same_queries_with_one_agent_or_many(owner):
    applications = get_application_model().objects

    def connect(name: str, environment):
        application = applications.create(
            name=name,
            client_type="public",
            authorization_grant_type="authorization-code",
            redirect_uris="http://127.0.0.1:9/callback",
        )
        grant_record(
            user=owner.user,
            application=application,
            environment_id=environment.id,
            scopes="images:read images:write",
        )

    connect("First assistant", owner.environment)

    def add_rows():
        for n in range(5):
            connect(
                f"Assistant {n}", environment_create(organization=owner.organization, name=f"E{n}")
            )

    counts, content = _counted(owner, "connections/", add_rows)
    assert content.count(b"data-grant=") == 6
    assert counts == (QUERIES["connections"],) * 2


def test_the_download_page_costs_the_same_queries_for_one_image_or_many(owner):
    def job_of(count: int):
        images = [
            Image.objects.create(
                environment=owner.environment,
                original_filename=f"{count}-{n}.png",
                extension="png",
                mime_type="image/png",
                status=ImageStatus.READY,
                size_bytes=100,
            )
            for n in range(count)
        ]
        return download_job_create(environment=owner.environment, image_ids=[i.id for i in images])

    client = signed_in(owner.user)
    one, many = job_of(1), job_of(30)
    counts = []
    for job in (one, one, many):
        count, content = _queries(client, f"/dashboard/{owner.environment.id}/downloads/{job.id}/")
        counts.append(count)
    assert b"Zip of 30 images" in content
    assert counts[1:] == [QUERIES["download"]] * 2


# Measured on 2026-12-03 (each the same with one row and with many).
QUERIES = {
    "webhooks": 7,
    "webhook log": 10,
    "organization": 7,
    "team": 8,
    "connections": 7,
    "download": 7,
}
