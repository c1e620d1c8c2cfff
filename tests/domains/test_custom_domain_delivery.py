"""A CONNECTED custom domain serves its environment's images, and nothing else, and
cdn_url uses it; other hosts are untouched."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from domains.custom_domains import custom_domain_create
from domains.models import CustomDomain, CustomDomainStatus
from tests import imagegen
from tests.uploads import create_upload, upload

pytestmark = pytest.mark.django_db(transaction=True)
HOST = "img.customer.test"


def on_host(path: str, host: str = HOST, **headers):
    return APIClient().get(path, HTTP_HOST=host, **headers)


def content(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture(autouse=True)
def cname_target(settings):
    settings.IMGWIRE_CUSTOM_DOMAIN_CNAME_TARGET = "cdn.imgwire.test"


@pytest.fixture
def photo(owner, stub_worker):
    image_id = upload(owner.server, imagegen.jpeg(width=400, height=300), "image/jpeg", "a.jpg")
    stub_worker()
    return image_id


@pytest.fixture
def domain(owner):
    return custom_domain_create(environment=owner.environment, hostname=HOST)


def connect(domain):
    # Arranged directly: reaching CONNECTED through DNS is test_custom_domain_connection's job.
    CustomDomain.objects.filter(pk=domain.pk).update(status=CustomDomainStatus.CONNECTED)


def test_a_connected_host_serves_the_environments_images_by_id(photo, domain):
    connect(domain)
    response = on_host(f"/{photo}")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert content(response)[:3] == b"\xff\xd8\xff"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"


def test_presets_and_transformations_work_on_the_connected_host(photo, domain):
    connect(domain)
    thumbnail = on_host(f"/{photo}@thumbnail?format=png")
    assert thumbnail.status_code == 200
    assert thumbnail["Content-Type"] == "image/png"
    assert on_host(f"/{photo}?width=0").status_code == 400


def test_the_organization_and_environment_prefix_is_accepted_for_its_own_environment(
    owner, outsider, photo, domain
):
    connect(domain)
    own = f"/{owner.organization.id}/{owner.environment.id}/{photo}"
    assert on_host(own + "?width=50").status_code == 200
    assert on_host(own.upper()).status_code == 200
    for wrong in (
        f"/{outsider.organization.id}/{outsider.environment.id}/{photo}",
        f"/{owner.organization.id}/{outsider.environment.id}/{photo}",
        f"/x/{owner.environment.id}/{photo}",
    ):
        response = on_host(wrong)
        assert response.status_code == 404, wrong
        assert response.json()["error_type"] == "ResourceNotFoundError"


def test_another_environments_image_is_not_found_on_the_host(outsider, domain, stub_worker):
    connect(domain)
    theirs = upload(outsider.server, imagegen.jpeg(width=40, height=30), "image/jpeg", "b.jpg")
    stub_worker()
    assert on_host(f"/{theirs}").status_code == 404
    path = f"/{outsider.organization.id}/{outsider.environment.id}/{theirs}"
    assert on_host(path).status_code == 404
    assert on_host(path, host="testserver").status_code == 404  # not a route there either


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/api/v1/images/",
        "/api/v1/custom_domain/",
        "/api/v1/openapi-server.json",
        "/admin/",
        "/admin/login/",
        "/health",
        "/hooks/tls-allowed?domain=img.customer.test",
        "/dashboard/",
        "/cdn/{org}/{env}/{photo}",
        "/{photo}/",
        "/{photo}/extra",
    ],
)
def test_nothing_but_delivery_is_reachable_on_the_host(owner, photo, domain, path):
    connect(domain)
    path = path.format(org=owner.organization.id, env=owner.environment.id, photo=photo)
    client = owner.client(owner.server_key, HTTP_HOST=HOST)
    response = client.get(path)
    assert response.status_code == 404, (path, response.status_code)
    assert response.json()["error_type"] == "ResourceNotFoundError"


def test_only_get_and_head_are_served_on_the_host(photo, domain):
    connect(domain)
    assert APIClient().head(f"/{photo}", HTTP_HOST=HOST).status_code == 200
    assert APIClient().post(f"/{photo}", HTTP_HOST=HOST).status_code == 405


def test_a_host_that_is_not_connected_passes_through_unchanged(settings, owner, photo, domain):
    # PENDING: not admitted, so ALLOWED_HOSTS refuses the host as any unknown host.
    assert on_host(f"/{photo}").status_code == 400
    listed = owner.client(owner.server_key, HTTP_HOST=HOST).get("/api/v1/images/")
    assert listed.status_code == 400
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, HOST]
    assert on_host(f"/{photo}").status_code == 404  # listed, yet no delivery on the host
    listed = owner.client(owner.server_key, HTTP_HOST=HOST).get("/api/v1/images/")
    assert listed.status_code == 200  # the ordinary routes, as for any other listed host
    CustomDomain.objects.filter(pk=domain.pk).update(status=CustomDomainStatus.FAILED)
    assert on_host(f"/{photo}").status_code == 404


def test_connected_hosts_are_admitted_although_allowed_hosts_does_not_list_them(
    settings, photo, domain
):
    settings.ALLOWED_HOSTS = ["api.imgwire.test"]
    connect(domain)
    assert on_host(f"/{photo}").status_code == 200
    assert on_host(f"/{photo}", host=f"{HOST}:443").status_code == 200
    assert on_host(f"/{photo}", host="IMG.Customer.test").status_code == 200
    assert on_host(f"/{photo}", host="unknown.customer.test").status_code == 400
    assert on_host("/health", host="api.imgwire.test").status_code == 200


def test_deleting_the_domain_stops_delivery_on_the_next_request(owner, photo, domain):
    connect(domain)
    assert on_host(f"/{photo}").status_code == 200
    owner.server.delete("/api/v1/custom_domain/")
    assert on_host(f"/{photo}").status_code == 400  # an unknown host again


def test_cdn_url_uses_the_domain_once_it_is_connected(owner, outsider, photo, domain):
    before = owner.server.get(f"/api/v1/images/{photo}").json()["cdn_url"]
    assert before.endswith(f"/{owner.organization.id}/{owner.environment.id}/{photo}")
    connect(domain)
    expected = f"https://{HOST}/{photo}"
    assert owner.server.get(f"/api/v1/images/{photo}").json()["cdn_url"] == expected
    assert owner.server.get("/api/v1/images/").json()[0]["cdn_url"] == expected
    created = create_upload(owner.server, file_name="new.jpg").json()["image"]
    assert created["cdn_url"] == f"https://{HOST}/{created['id']}"
    other = create_upload(outsider.server, file_name="theirs.jpg").json()["image"]
    assert HOST not in other["cdn_url"]


def test_the_image_list_costs_the_same_queries_with_a_connected_domain(owner, domain):
    connect(domain)
    for n in range(5):
        create_upload(owner.server, file_name=f"{n}.jpg")
    with CaptureQueriesContext(connection) as queries:
        response = owner.server.get("/api/v1/images/?limit=100")
    assert all(item["cdn_url"].startswith(f"https://{HOST}/") for item in response.json())
    # key lookup, count, page (the domain is joined into the page query)
    assert len(queries) == 3, [q["sql"] for q in queries]


def test_a_request_on_the_host_costs_one_lookup_before_delivery(photo, domain):
    connect(domain)
    with CaptureQueriesContext(connection) as on_custom:
        assert on_host(f"/{photo}/nope").status_code == 404
    assert len(on_custom) == 1
    with CaptureQueriesContext(connection) as elsewhere:
        APIClient().get("/health")
    assert not [q for q in elsewhere if "domains_customdomain" in q["sql"]]
