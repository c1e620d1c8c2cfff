"""/api/v1/cors_origins: managed by Server keys and admins, read by developers, per environment."""

import uuid

import pytest

from domains.models import CorsOrigin
from domains.services import MAX_CORS_ORIGINS_PER_ENVIRONMENT, cors_origin_create
from tests.domains.conftest import member_client
from tests.openapi import assert_matches

pytestmark = pytest.mark.django_db

LIST = "/api/v1/cors_origins/"


def detail(cors_origin_id) -> str:
    return f"/api/v1/cors_origins/{cors_origin_id}"


@pytest.fixture
def existing(owner):
    return cors_origin_create(environment=owner.environment, pattern="app.example.com")


# (method, path template, payload) for every operation.
READS = [("get", LIST, None), ("get", "{detail}", None)]
WRITES = [
    ("post", LIST, {"pattern": "new.example.com"}),
    ("patch", "{detail}", {"pattern": "new.example.com"}),
    ("delete", "{detail}", None),
]


def call(client, method, path, payload, cors_origin):
    return getattr(client, method)(
        path.format(detail=detail(cors_origin.id)), payload, format="json"
    )


def test_a_server_key_creates_a_cors_origin_shaped_like_the_reference(owner):
    response = owner.server.post(LIST, {"pattern": "https://app.example.com"}, format="json")
    assert response.status_code == 200, response.content
    assert_matches(response.json(), "CorsOriginSchema")
    assert response.json()["pattern"] == "https://app.example.com"
    assert response.json()["environment_id"] == str(owner.environment.id)
    assert CorsOrigin.objects.for_environment(owner.environment).count() == 1


def test_the_stored_pattern_is_the_canonical_spelling(owner):
    response = owner.server.post(LIST, {"pattern": "  HTTPS://Bücher.Example.:443 "}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["pattern"] == "https://xn--bcher-kva.example"


def test_a_cors_origin_is_read_listed_updated_and_deleted(owner, existing):
    got = owner.server.get(detail(existing.id))
    assert got.status_code == 200
    assert_matches(got.json(), "CorsOriginSchema")

    listed = owner.server.get(LIST)
    assert listed.status_code == 200
    assert_matches(listed.json(), "CorsOriginSchema", many=True)
    assert [o["id"] for o in listed.json()] == [str(existing.id)]

    updated = owner.server.patch(detail(existing.id), {"pattern": "*.example.com"}, format="json")
    assert updated.status_code == 200, updated.content
    assert updated.json()["pattern"] == "*.example.com"
    assert updated.json()["updated_at"] >= got.json()["updated_at"]

    deleted = owner.server.delete(detail(existing.id))
    assert deleted.status_code == 200
    assert deleted.json() == {"id": str(existing.id), "status": "deleted"}
    assert not CorsOrigin.objects.exists()
    assert owner.server.delete(detail(existing.id)).status_code == 404


def test_an_invalid_pattern_answers_422_saying_why(owner):
    response = owner.server.post(LIST, {"pattern": "https://app.example.com/cb"}, format="json")
    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "pattern"]
    assert "may not contain a path" in error["msg"]
    assert not CorsOrigin.objects.exists()


@pytest.mark.parametrize(
    ("payload", "loc"),
    [
        ({}, ["body", "pattern"]),
        ({"pattern": ""}, ["body", "pattern"]),
        ({"pattern": "   "}, ["body", "pattern"]),
        ({"pattern": None}, ["body", "pattern"]),
        ({"pattern": 12}, ["body", "pattern"]),
        ({"pattern": ["app.example.com"]}, ["body", "pattern"]),
        ({"pattern": "a" * 256}, ["body", "pattern"]),
        ({"pattern": "*.com"}, ["body", "pattern"]),
    ],
)
def test_a_malformed_body_answers_422(owner, existing, payload, loc):
    for response in (
        owner.server.post(LIST, payload, format="json"),
        owner.server.patch(detail(existing.id), payload, format="json"),
    ):
        assert response.status_code == 422, response.content
        assert response.json()["detail"][0]["loc"] == loc
    assert CorsOrigin.objects.get().pattern == "app.example.com"


def test_a_body_that_is_not_json_answers_422(owner):
    response = owner.server.generic("POST", LIST, b"{nope", content_type="application/json")
    assert response.status_code == 422


def test_a_duplicate_pattern_answers_409_in_any_spelling(owner, existing):
    for spelling in ("app.example.com", "APP.example.com.", "App.Example.Com"):
        response = owner.server.post(LIST, {"pattern": spelling}, format="json")
        assert response.status_code == 409, spelling
        assert response.json()["error_type"] == "ConflictError"
    assert CorsOrigin.objects.count() == 1


def test_renaming_onto_another_pattern_answers_409(owner, existing):
    other = cors_origin_create(environment=owner.environment, pattern="other.example.com")
    response = owner.server.patch(detail(other.id), {"pattern": "app.example.com"}, format="json")
    assert response.status_code == 409
    other.refresh_from_db()
    assert other.pattern == "other.example.com"


def test_patching_a_pattern_to_itself_is_harmless(owner, existing):
    response = owner.server.patch(
        detail(existing.id), {"pattern": "APP.example.com"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["pattern"] == "app.example.com"


def test_the_same_pattern_may_exist_in_two_environments(owner, outsider, existing):
    response = outsider.server.post(LIST, {"pattern": "app.example.com"}, format="json")
    assert response.status_code == 200


def test_an_environment_holds_at_most_the_documented_number_of_patterns(owner):
    CorsOrigin.objects.bulk_create(
        CorsOrigin(environment=owner.environment, pattern=f"h{i}.example.com")
        for i in range(MAX_CORS_ORIGINS_PER_ENVIRONMENT)
    )
    response = owner.server.post(LIST, {"pattern": "one-more.example.com"}, format="json")
    assert response.status_code == 409
    assert str(MAX_CORS_ORIGINS_PER_ENVIRONMENT) in response.json()["detail"]
    assert CorsOrigin.objects.count() == MAX_CORS_ORIGINS_PER_ENVIRONMENT


def test_the_list_is_paginated_newest_first_with_headers(owner):
    created = [
        cors_origin_create(environment=owner.environment, pattern=f"h{i}.example.com")
        for i in range(5)
    ]
    first = owner.server.get(LIST, {"limit": 2})
    assert [o["id"] for o in first.json()] == [str(c.id) for c in created[::-1][:2]]
    assert first["X-Total-Count"] == "5"
    assert first["X-Page"] == "1"
    assert first["X-Limit"] == "2"
    assert first["X-Prev-Page"] == "null"
    assert first["X-Next-Page"] == "2"
    last = owner.server.get(LIST, {"limit": 2, "page": 3})
    assert [o["id"] for o in last.json()] == [str(created[0].id)]
    assert last["X-Prev-Page"] == "2"
    assert last["X-Next-Page"] == "null"
    for bad in ({"limit": 0}, {"limit": 101}, {"page": 0}, {"page": "x"}):
        assert owner.server.get(LIST, bad).status_code == 422, bad


def test_listing_costs_a_fixed_number_of_queries(owner, django_assert_num_queries):
    for i in range(3):
        cors_origin_create(environment=owner.environment, pattern=f"h{i}.example.com")
    client = owner.server
    client.get(LIST)  # warm-up: the key's last_used_at write is throttled
    with django_assert_num_queries(3):  # the key, the count, the page
        assert len(client.get(LIST).json()) == 3


def test_the_list_shows_only_the_callers_environment(owner, outsider, existing):
    cors_origin_create(environment=outsider.environment, pattern="theirs.example.com")
    assert [o["pattern"] for o in owner.server.get(LIST).json()] == ["app.example.com"]


@pytest.mark.parametrize("method", ["get", "patch", "delete"], ids=["read", "update", "delete"])
def test_another_environments_cors_origin_answers_404_like_a_missing_one(
    owner, outsider, existing, method
):
    payload = {"pattern": "stolen.example.com"} if method == "patch" else None
    theirs = getattr(outsider.server, method)(detail(existing.id), payload, format="json")
    missing = getattr(outsider.server, method)(detail(uuid.uuid4()), payload, format="json")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["error_type"] == missing.json()["error_type"] == "ResourceNotFoundError"
    existing.refresh_from_db()
    assert existing.pattern == "app.example.com"


def test_an_id_that_is_not_a_uuid_answers_422(owner):
    response = owner.server.get(detail("not-a-uuid"))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "cors_origin_id"]


@pytest.mark.parametrize(("method", "path", "payload"), READS + WRITES)
def test_no_key_answers_401(owner, existing, method, path, payload):
    response = call(owner.client(), method, path, payload, existing)
    assert response.status_code == 401
    assert response.json()["error_type"] == "InvalidTokenError"


@pytest.mark.parametrize(("method", "path", "payload"), READS + WRITES)
def test_a_wrong_key_answers_401(owner, existing, method, path, payload):
    for key in (owner.server_key[:-4] + "AAAA", "sk_nonsense", "ck_" + "x" * 200):
        response = call(owner.client(key), method, path, payload, existing)
        assert response.status_code == 401, key


@pytest.mark.parametrize(("method", "path", "payload"), READS + WRITES)
def test_a_client_key_answers_403(owner, existing, method, path, payload):
    response = call(owner.browser, method, path, payload, existing)
    assert response.status_code == 403
    assert response.json()["error_type"] == "OperationNotAllowedError"
    assert CorsOrigin.objects.get().pattern == "app.example.com"


@pytest.mark.parametrize(("method", "path", "payload"), READS)
def test_a_developer_member_reads_cors_origins(owner, developer, existing, method, path, payload):
    response = call(member_client(owner, developer), method, path, payload, existing)
    assert response.status_code == 200


@pytest.mark.parametrize(("method", "path", "payload"), WRITES)
def test_a_developer_member_cannot_change_cors_origins(
    owner, developer, existing, method, path, payload
):
    response = call(member_client(owner, developer), method, path, payload, existing)
    assert response.status_code == 403
    assert response.json()["error_type"] == "OperationNotAllowedError"
    assert CorsOrigin.objects.get().pattern == "app.example.com"


@pytest.mark.parametrize("role", ["owner", "admin"])
@pytest.mark.parametrize(("method", "path", "payload"), READS + WRITES)
def test_owner_and_admin_members_manage_cors_origins(
    owner, admin, existing, role, method, path, payload
):
    client = admin if role == "admin" else member_client(owner, owner.user)
    response = call(client, method, path, payload, existing)
    assert response.status_code == 200, response.content


def test_a_member_of_another_organization_is_refused(owner, outsider, existing):
    client = member_client(owner, outsider.user)
    assert client.get(LIST).status_code == 403
    assert client.post(LIST, {"pattern": "x.example.com"}, format="json").status_code == 403
    assert CorsOrigin.objects.count() == 1
