import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from domains.models import CorsOrigin
from domains.services import cors_origin_create
from tests.dashboard.conftest import signed_in

# The overview was 9 until member_view joined the plan to the environment (for the standing
# banner every page shows): its own read of the plan went away.
QUERIES = {"": 8, "team/": 8, "environments/": 7, "domains/": 8, "metrics/": 14}
MEMBER = {"owner": 200, "admin": 200, "developer": 200, "outsider": 404, "anonymous": 302}


@pytest.mark.parametrize("role", list(MEMBER))
def test_domains_and_metrics_pages_answer_each_role(owner, as_role, role):
    client = as_role(role)
    for page in ("domains/", "metrics/", "environments/"):
        response = client.get(f"/dashboard/{owner.environment.id}/{page}")
        assert response.status_code == MEMBER[role], page


def test_an_admin_adds_and_removes_a_cors_origin(owner, admin_user):
    client = signed_in(admin_user)
    env = owner.environment.id
    client.post(f"/dashboard/{env}/domains/cors/", {"pattern": "*.Example.com"})
    origin = CorsOrigin.objects.get(environment=owner.environment)
    assert origin.pattern == "*.example.com"
    client.post(f"/dashboard/{env}/domains/cors/{origin.id}/delete/")
    assert not CorsOrigin.objects.exists()


def test_an_invalid_cors_pattern_says_why(owner):
    response = signed_in(owner.user).post(
        f"/dashboard/{owner.environment.id}/domains/cors/",
        {"pattern": "https://example.com/path"},
        follow=True,
    )
    assert b'class="error"' in response.content
    assert not CorsOrigin.objects.exists()


@pytest.mark.parametrize(
    "role,expected", [("developer", 403), ("outsider", 404), ("anonymous", 302)]
)
def test_domain_changes_are_refused_to_non_managers(owner, as_role, role, expected):
    origin = cors_origin_create(environment=owner.environment, pattern="app.example.com")
    client = as_role(role)
    env = owner.environment.id
    assert (
        client.post(f"/dashboard/{env}/domains/cors/", {"pattern": "a.example.com"}).status_code
        == expected
    )
    assert client.post(f"/dashboard/{env}/domains/cors/{origin.id}/delete/").status_code == expected
    assert (
        client.post(
            f"/dashboard/{env}/domains/custom/create/", {"hostname": "i.example.com"}
        ).status_code
        == expected
    )
    assert list(CorsOrigin.objects.values_list("pattern", flat=True)) == ["app.example.com"]


def test_the_metrics_page_draws_six_charts_in_the_chosen_zone(owner):
    response = signed_in(owner.user).get(
        f"/dashboard/{owner.environment.id}/metrics/",
        {"interval": "HOURLY", "tz": "Asia/Kolkata"},
    )
    # Six charts, each drawn without JavaScript as this period's line and the previous one's.
    assert response.content.count(b'<polyline class="current"') == 6
    assert response.content.count(b'<polyline class="previous"') == 6
    assert response.context["tz"] == "Asia/Kolkata"
    assert len(response.context["charts"][0]["rows"]) == 24


def test_the_metrics_page_falls_back_to_utc_for_an_unknown_zone(owner):
    response = signed_in(owner.user).get(
        f"/dashboard/{owner.environment.id}/metrics/", {"tz": "Mars/Olympus", "interval": "nope"}
    )
    assert response.context["tz"] == "UTC"
    assert response.context["interval"] == "DAILY"


def test_the_overview_shows_usage_against_the_plan(owner):
    from environments.models import BillingPlan

    BillingPlan.objects.filter(organizations=owner.organization).update(upload_limit=500)
    response = signed_in(owner.user).get(f"/dashboard/{owner.environment.id}/")
    uploads = next(r for r in response.context["usage"] if r["label"] == "Uploads this period")
    assert uploads["limit"] == 500


@pytest.mark.parametrize("page", ["", "team/", "environments/", "domains/", "metrics/"])
def test_pages_run_a_fixed_number_of_queries(owner, page, developer, admin_user):
    from environments.services import environment_create

    client = signed_in(owner.user)
    url = f"/dashboard/{owner.environment.id}/{page}"
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for n in range(3):
        environment_create(organization=owner.organization, name=f"env{n}")
        cors_origin_create(environment=owner.environment, pattern=f"a{n}.example.com")
    with CaptureQueriesContext(connection) as many:
        client.get(url)
    assert len(few) == len(many) == QUERIES[page]
