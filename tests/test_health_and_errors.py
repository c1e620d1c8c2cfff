import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_health_answers_ok_with_a_database_round_trip():
    response = APIClient().get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "storage": "ok", "broker": "ok"}


def test_health_answers_503_naming_the_service_that_is_unreachable(monkeypatch):
    from imgwire_site import views

    def unreachable():
        raise OSError("storage is away")

    monkeypatch.setattr(views, "_check_storage", unreachable)
    response = APIClient().get("/health")
    assert response.status_code == 503
    assert response.json()["storage"] == "unreachable"
    assert APIClient().get("/health/live").json() == {"status": "ok"}


def test_the_openapi_document_is_served_without_credentials():
    response = APIClient().get("/api/v1/openapi-server.json")
    assert response.status_code == 200
    assert "/api/v1/images/standard_upload" in response.json()["paths"]


def test_a_malformed_image_id_answers_422_naming_the_path_parameter(owner):
    response = owner.server.get("/api/v1/images/not-a-uuid")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["path", "image_id"]


@pytest.mark.parametrize(
    ("query", "name"),
    [("page=0", "page"), ("limit=0", "limit"), ("limit=101", "limit"), ("page=x", "page")],
)
def test_out_of_range_pagination_answers_422(owner, query, name):
    response = owner.server.get(f"/api/v1/images/?{query}")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", name]


def test_a_form_encoded_body_answers_422_asking_for_json(owner):
    response = owner.server.post(
        "/api/v1/images/standard_upload",
        "file_name=a.jpg",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 422
    assert "application/json" in response.json()["detail"][0]["msg"]


def test_an_unsupported_method_answers_405_in_the_error_shape(owner):
    response = owner.server.put("/api/v1/images/standard_upload", {}, format="json")
    assert response.status_code == 405
    assert response.json()["error_type"] == "MethodNotAllowedError"


def test_bulk_delete_refuses_an_empty_list_and_more_than_1000_ids(owner):
    import uuid

    empty = owner.server.post("/api/v1/images/bulk_delete", {"image_ids": []}, format="json")
    assert empty.status_code == 422
    many = [str(uuid.uuid4()) for _ in range(1001)]
    too_many = owner.server.post("/api/v1/images/bulk_delete", {"image_ids": many}, format="json")
    assert too_many.status_code == 422
    bad = owner.server.post("/api/v1/images/bulk_delete", {"image_ids": ["x"]}, format="json")
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "image_ids", 0]


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_an_api_path_missing_its_trailing_slash_answers_308_in_the_error_shape(owner, method):
    response = getattr(owner.server, method)("/api/v1/images?limit=5")
    assert response.status_code == 308
    assert response["Location"] == "/api/v1/images/?limit=5"
    assert response.json() == {
        "detail": "This endpoint is /api/v1/images/ (with a trailing slash).",
        "error_type": "ResourceNotFoundError",
    }


def test_a_client_following_the_308_gets_the_list_its_request_asked_for(owner):
    response = owner.server.get("/api/v1/images?limit=5", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [("/api/v1/images/?limit=5", 308)]


def test_an_unknown_api_path_still_answers_404_rather_than_a_redirect(owner):
    response = owner.server.post("/api/v1/no_such_thing", {}, format="json")
    assert response.status_code == 404
    assert response.json()["error_type"] == "ResourceNotFoundError"


def test_a_dashboard_path_missing_its_slash_keeps_djangos_301(client):
    response = client.get("/dashboard")
    assert response.status_code == 301
    assert response["Location"] == "/dashboard/"
