"""/api/v1/custom_domain: one per environment, unique per install, managed by Server keys
and admins, read by developers, only on plans that include it."""

import pytest

from domains.custom_domains import custom_domain_create
from domains.models import CustomDomain
from environments.models import BillingPlan
from environments.services import environment_create
from keys.models import ApiKeyType
from keys.services import api_key_create
from tests.domains.conftest import member_client
from tests.openapi import (
    assert_matches,
    assert_parameters_match,
    assert_schemas_match,
    reference,
    reference_operations,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/custom_domain/"
TEST = "/api/v1/custom_domain/test_connection"
TARGET = "cdn.imgwire.test"


@pytest.fixture(autouse=True)
def cname_target(settings):
    settings.IMGWIRE_CUSTOM_DOMAIN_CNAME_TARGET = TARGET


@pytest.fixture
def existing(owner):
    return custom_domain_create(environment=owner.environment, hostname="img.customer.test")


READS = [("get", URL, None)]
WRITES = [
    ("post", URL, {"hostname": "new.customer.test"}),
    ("delete", URL, None),
    ("post", TEST, None),
]


def call(client, method, path, payload):
    return getattr(client, method)(path, payload, format="json")


def test_a_server_key_creates_a_pending_custom_domain_shaped_like_the_reference(owner):
    response = owner.server.post(URL, {"hostname": " IMG.Customer.test. "}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert_matches(body, "CustomDomainSchema")
    domain = CustomDomain.objects.get()
    assert body["id"] == str(domain.id)
    assert body["environment_id"] == str(owner.environment.id)
    assert body["hostname"] == body["cname_record"] == "img.customer.test"
    assert body["cname_value"] == TARGET
    assert body["dcv_cname_record"] == "_acme-challenge.img.customer.test"
    assert body["dcv_cname_value"] == f"{domain.dcv_label}.dcv.{TARGET}"
    assert len(domain.dcv_label) == 32
    assert body["status"] == body["certificate_status"] == "PENDING"
    assert body["last_verified_at"] is None
    assert "CNAME cdn.imgwire.test" in body["status_reason"]


def test_every_domain_gets_its_own_dcv_value(owner, outsider, existing):
    theirs = outsider.server.post(URL, {"hostname": "img.other.test"}, format="json").json()
    assert theirs["dcv_cname_value"] != existing.dcv_cname_value


def test_the_cname_values_follow_the_configured_target(owner, existing, settings):
    settings.IMGWIRE_CUSTOM_DOMAIN_CNAME_TARGET = "edge.imgwire.test"
    body = owner.server.get(URL).json()
    assert body["cname_value"] == "edge.imgwire.test"
    assert body["dcv_cname_value"].endswith(".dcv.edge.imgwire.test")


def test_a_custom_domain_is_read_and_deleted(owner, existing):
    got = owner.server.get(URL)
    assert got.status_code == 200
    assert_matches(got.json(), "CustomDomainSchema")
    assert got.json()["hostname"] == "img.customer.test"

    deleted = owner.server.delete(URL)
    assert deleted.status_code == 200
    assert deleted.json() == {"id": str(existing.id), "status": "deleted"}
    assert not CustomDomain.objects.exists()
    assert owner.server.delete(URL).status_code == 404


def test_reading_without_a_custom_domain_answers_404_saying_how_to_create_one(owner):
    response = owner.server.get(URL)
    assert response.status_code == 404
    assert response.json()["error_type"] == "ResourceNotFoundError"
    assert "POST /api/v1/custom_domain/" in response.json()["detail"]
    assert owner.server.post(TEST).status_code == 404


def test_an_invalid_hostname_answers_422_saying_why(owner):
    response = owner.server.post(URL, {"hostname": "customer.test"}, format="json")
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "hostname"]
    assert "use a subdomain, like img.customer.test" in error["msg"]
    assert not CustomDomain.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [{}, {"hostname": ""}, {"hostname": "  "}, {"hostname": None}, {"hostname": 12},
     {"hostname": ["img.customer.test"]}, {"hostname": "a" * 513}],
)  # fmt: skip
def test_a_malformed_body_answers_422(owner, payload):
    response = owner.server.post(URL, payload, format="json")
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"] == ["body", "hostname"]


@pytest.mark.parametrize("hostname", [TARGET, "x.dcv.cdn.imgwire.test", "api.imgwire.test"])
def test_the_installs_own_host_names_cannot_be_claimed(owner, settings, hostname):
    settings.ALLOWED_HOSTS = ["testserver", "api.imgwire.test"]
    response = owner.server.post(URL, {"hostname": hostname}, format="json")
    assert response.status_code == 422
    assert "own host names" in response.json()["detail"][0]["msg"]


def test_an_environment_has_at_most_one_custom_domain(owner, existing):
    for hostname in ("other.customer.test", "img.customer.test"):
        response = owner.server.post(URL, {"hostname": hostname}, format="json")
        assert response.status_code == 409
        assert response.json()["error_type"] == "ConflictError"
        assert "already has the custom domain img.customer.test" in response.json()["detail"]
    assert CustomDomain.objects.count() == 1


def test_a_hostname_serves_one_environment_in_the_whole_install(owner, outsider, existing):
    second_environment = environment_create(organization=owner.organization, name="Staging")
    _, staging_key = api_key_create(
        environment=second_environment, name="s", key_type=ApiKeyType.SERVER
    )
    for client in (outsider.server, owner.client(staging_key)):
        response = client.post(URL, {"hostname": "IMG.customer.test."}, format="json")
        assert response.status_code == 409
        assert response.json()["error_type"] == "ConflictError"
        assert "another environment" in response.json()["detail"]
    assert CustomDomain.objects.count() == 1


def test_a_deleted_hostname_may_be_claimed_again(owner, outsider, existing):
    owner.server.delete(URL)
    response = outsider.server.post(URL, {"hostname": "img.customer.test"}, format="json")
    assert response.status_code == 200


def test_a_plan_without_custom_domains_answers_402_naming_the_limit_and_the_plan(owner):
    plan = BillingPlan.objects.create(name="Hobby", custom_domain_enabled=False)
    owner.organization.billing_plan = plan
    owner.organization.save()
    response = owner.server.post(URL, {"hostname": "img.customer.test"}, format="json")
    assert response.status_code == 402
    assert response.json()["error_type"] == "PaymentRequiredError"
    assert "Hobby plan does not include custom domains" in response.json()["detail"]
    assert not CustomDomain.objects.exists()


def test_a_blocked_organization_cannot_add_a_custom_domain(owner):
    owner.organization.blocked = True
    owner.organization.save()
    response = owner.server.post(URL, {"hostname": "img.customer.test"}, format="json")
    assert response.status_code == 402
    assert "blocked" in response.json()["detail"]
    assert not CustomDomain.objects.exists()


def test_an_organization_without_a_plan_is_unlimited(owner):
    owner.organization.billing_plan = None
    owner.organization.save()
    response = owner.server.post(URL, {"hostname": "img.customer.test"}, format="json")
    assert response.status_code == 200


def test_another_environments_custom_domain_is_invisible(owner, outsider, existing):
    assert outsider.server.get(URL).status_code == 404
    assert outsider.server.delete(URL).status_code == 404
    assert outsider.server.post(TEST).status_code == 404
    assert CustomDomain.objects.get().status == "PENDING"


@pytest.mark.parametrize(("method", "path", "payload"), READS + WRITES)
def test_no_key_answers_401(owner, existing, method, path, payload):
    response = call(owner.client(), method, path, payload)
    assert response.status_code == 401
    assert response.json()["error_type"] == "InvalidTokenError"


@pytest.mark.parametrize(("method", "path", "payload"), READS + WRITES)
def test_a_wrong_key_answers_401(owner, existing, method, path, payload):
    response = call(owner.client(owner.server_key[:-4] + "AAAA"), method, path, payload)
    assert response.status_code == 401


@pytest.mark.parametrize(("method", "path", "payload"), READS + WRITES)
def test_a_client_key_answers_403(owner, existing, method, path, payload):
    response = call(owner.browser, method, path, payload)
    assert response.status_code == 403
    assert response.json()["error_type"] == "OperationNotAllowedError"
    assert CustomDomain.objects.get().hostname == "img.customer.test"


def test_a_developer_member_reads_the_custom_domain(owner, developer, existing):
    response = member_client(owner, developer).get(URL)
    assert response.status_code == 200
    assert response.json()["hostname"] == "img.customer.test"


@pytest.mark.parametrize(("method", "path", "payload"), WRITES)
def test_a_developer_member_cannot_change_the_custom_domain(
    owner, developer, existing, method, path, payload
):
    response = call(member_client(owner, developer), method, path, payload)
    assert response.status_code == 403
    assert response.json()["error_type"] == "OperationNotAllowedError"
    assert CustomDomain.objects.get().status == "PENDING"


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owner_and_admin_members_manage_the_custom_domain(owner, admin, role):
    client = admin if role == "admin" else member_client(owner, owner.user)
    created = client.post(URL, {"hostname": "img.customer.test"}, format="json")
    assert created.status_code == 200, created.content
    assert client.get(URL).status_code == 200
    assert client.delete(URL).status_code == 200


def test_a_member_of_another_organization_is_refused(owner, outsider, existing):
    client = member_client(owner, outsider.user)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"hostname": "x.customer.test"}, format="json").status_code == 403
    assert client.delete(URL).status_code == 403
    assert CustomDomain.objects.count() == 1


# --- the OpenAPI contract -------------------------------------------------------------

IMPLEMENTED = [(URL, "get"), (URL, "post"), (URL, "delete"), (TEST, "post")]


def test_every_custom_domain_path_of_the_reference_is_implemented():
    assert reference_operations("/api/v1/custom_domain") == set(IMPLEMENTED)


@pytest.mark.parametrize(("path", "method"), IMPLEMENTED)
def test_custom_domain_operations_match_the_reference(ours, path, method):
    theirs_op = reference()["paths"][path][method]
    assert ours["paths"][path][method]["operationId"] == theirs_op["operationId"]
    assert_parameters_match(ours, path, method)
    assert_schemas_match(ours, path, method)
