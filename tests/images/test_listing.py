import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.openapi import assert_matches
from tests.uploads import create_upload

pytestmark = pytest.mark.django_db


def test_the_list_is_newest_first_with_the_five_pagination_headers(owner):
    ids = [
        create_upload(owner.server, file_name=f"{n}.jpg").json()["image"]["id"] for n in range(5)
    ]
    first = owner.server.get("/api/v1/images/?limit=2")
    assert [i["id"] for i in first.json()] == ids[::-1][:2]
    assert first["X-Total-Count"] == "5"
    assert first["X-Page"] == "1"
    assert first["X-Limit"] == "2"
    assert first["X-Prev-Page"] == "null"
    assert first["X-Next-Page"] == "2"
    last = owner.server.get("/api/v1/images/?limit=2&page=3")
    assert [i["id"] for i in last.json()] == [ids[0]]
    assert last["X-Prev-Page"] == "2"
    assert last["X-Next-Page"] == "null"
    beyond = owner.server.get("/api/v1/images/?limit=2&page=9")
    assert beyond.json() == []


def test_list_items_match_the_reference_schema(owner):
    create_upload(owner.server, file_name="a.png", custom_metadata={"a": 1})
    response = owner.server.get("/api/v1/images/")
    assert_matches(response.json(), "ImageSchema", many=True)


def test_the_upload_response_matches_the_reference_schema(owner):
    response = create_upload(owner.server, file_name="a.heic", purpose="avatar")
    assert_matches(response.json(), "StandardUploadResponseSchema")
    token = owner.server.post("/api/v1/images/token")
    assert_matches(token.json(), "UploadTokenCreateResponseSchema")


@pytest.mark.parametrize("count", [1, 30])
def test_the_list_costs_the_same_number_of_queries_for_any_page_size(owner, count):
    for n in range(count):
        create_upload(owner.server, file_name=f"{n}.jpg")
    with CaptureQueriesContext(connection) as queries:
        response = owner.server.get("/api/v1/images/?limit=100")
    assert response.status_code == 200
    # key lookup, last-used refresh check skipped (fresh), count, page
    assert len(queries) == 3, [q["sql"] for q in queries]
