"""Driving the two-step upload flow through HTTP, as a customer's code would."""

from urllib.parse import urlsplit

from rest_framework.test import APIClient


def create_upload(client: APIClient, **fields):
    fields.setdefault("file_name", "photo.jpg")
    return client.post("/api/v1/images/standard_upload", fields, format="json")


def put_bytes(upload_url: str, data: bytes, content_type: str, **extra):
    parts = urlsplit(upload_url)
    return APIClient().generic(
        "PUT", f"{parts.path}?{parts.query}", data, content_type=content_type, **extra
    )


def upload(client: APIClient, data: bytes, mime: str, file_name: str, **fields):
    """Create + PUT; returns the created image's id."""
    created = create_upload(
        client, file_name=file_name, mime_type=mime, content_length=len(data), **fields
    )
    assert created.status_code == 200, created.content
    put = put_bytes(created.json()["upload_url"], data, mime)
    assert put.status_code == 200, put.content
    return created.json()["image"]["id"]
