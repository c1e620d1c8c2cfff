"""Malformed and hostile requests answer a clear 4xx in ImageKit's shape, never a 500."""

import base64

import pytest
import requests

from tests.compat.imagekit.conftest import client_auth, post
from tests.imagegen import jpeg

pytestmark = pytest.mark.django_db(transaction=True)

FIELD_CASES = [
    {"fileName": "a.jpg", "useUniqueFileName": "maybe"},
    {"fileName": "a.jpg", "customMetadata": "{not json"},
    {"fileName": "a.jpg", "customMetadata": "[1, 2]"},
    {"fileName": "a.jpg", "customMetadata": '{"k": {"nested": 1}}'},
    {"fileName": "a.jpg", "customMetadata": '{"k": NaN}'},
    {"fileName": "a.jpg", "customMetadata": "[" * 5000 + "]" * 5000},  # past the stack
    {"fileName": "a.jpg", "customMetadata": '{"k": "a\\u0000b"}'},  # NUL, as a JSON escape
    {"fileName": "a.jpg", "customMetadata": '{"\\ud800": "v"}'},  # a lone surrogate key
    {"fileName": "a.jpg", "folder": "/a/../b"},
    {"fileName": "a.jpg", "folder": "/" + "/".join(["d"] * 51)},
    {"fileName": "a.jpg", "tags": "a%20b"},
    {"fileName": "a.jpg", "tags": ",".join(["t" * 20] * 30)},
    {"fileName": "a.jpg", "customCoordinates": "1,2,3"},
    {"fileName": "a.jpg", "customCoordinates": "-1,0,5,5"},
    {"fileName": "a.jpg", "responseFields": "tags,password"},
    {"fileName": "a.jpg", "transformation": "rt-90"},
    {"fileName": "a.jpg", "transformation": '{"pre": 5}'},
    {"fileName": "a.jpg", "transformation": '{"post": "w-10"}'},
    {"fileName": "a.jpg", "isPublished": "false"},
    {"fileName": "a.jpg", "checks": '"file.size" < "1mb"'},
    {"fileName": "a.jpg", "description": "hello"},
    {"fileName": ""},
    {"fileName": "a\x00.jpg"},
]


@pytest.mark.parametrize("fields", FIELD_CASES)
def test_a_bad_field_answers_400_with_a_sentence(api_root, private_key, fields):
    answer = post(api_root, fields, key=private_key, file=jpeg())
    assert answer.status_code == 400, (fields, answer.text)
    assert set(answer.json()) == {"message", "help"} and answer.json()["message"]


@pytest.mark.parametrize(
    "file",
    ["", "not base64 at all!", "data:image/png;base64,@@@@", base64.b64encode(b"text").decode()],
)
def test_a_bad_text_file_answers_400(api_root, private_key, file):
    answer = post(api_root, {"fileName": "a.jpg", "file": file}, key=private_key)
    assert answer.status_code == 400, answer.text


def test_an_empty_file_part_answers_400(api_root, private_key):
    answer = post(api_root, {"fileName": "a.jpg"}, key=private_key, file=b"")
    assert answer.status_code == 400


@pytest.mark.parametrize(
    "headers, body",
    [
        ({"Content-Type": "application/json"}, b'{"fileName": "a.jpg"}'),
        ({"Content-Type": "multipart/form-data; boundary=x"}, b"--x\r\ngarbage"),
        ({"Content-Type": "multipart/form-data"}, b"no boundary"),
        ({"Content-Type": "text/plain"}, b"\xff\xfe\x00"),
    ],
)
def test_a_body_that_is_not_a_form_never_answers_500(api_root, private_key, headers, body):
    answer = requests.post(
        f"{api_root}/api/v1/files/upload",
        data=body,
        headers=headers,
        auth=(private_key, ""),
        timeout=30,
    )
    assert 400 <= answer.status_code < 500, answer.text
    assert "message" in answer.json()


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        "Bearer sk_x",
        "Basic",
        "Basic !!!",
        "Basic " + base64.b64encode(b"\xff\xfe").decode(),
        "Basic " + base64.b64encode(b"sk_" + b"x" * 300 + b":").decode(),
    ],
)
def test_bad_credentials_answer_401(api_root, authorization):
    answer = requests.post(
        f"{api_root}/api/v1/files/upload",
        files={"fileName": (None, "a.jpg"), "file": ("a.jpg", jpeg())},
        headers={"Authorization": authorization} if authorization else {},
        timeout=30,
    )
    assert answer.status_code == 401, answer.text


@pytest.mark.parametrize(
    "overrides",
    [
        {"expire": "soon"},
        {"expire": "\uff11\uff12\uff13"},  # fullwidth digits
        {"expire": ""},
        {"token": ""},
        {"token": "t" * 500},
        {"signature": ""},
        {"signature": "zz" * 20},
        {"publicKey": "ck_" + "x" * 500},
    ],
)
def test_bad_client_side_fields_answer_4xx(owner, private_key, api_root, overrides):
    fields = {"fileName": "a.jpg", "publicKey": owner.client_key, **client_auth(private_key)}
    answer = post(api_root, {**fields, **overrides}, file=jpeg())
    assert answer.status_code in (400, 401), answer.text


@pytest.mark.parametrize("token", ["x", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.", "." * 3000])
def test_a_malformed_jwt_answers_4xx(api_root, token):
    answer = post(api_root, {"fileName": "a.jpg", "token": token}, file=jpeg(), version=2)
    assert answer.status_code in (400, 401), answer.text


def test_get_answers_405(api_root):
    answer = requests.get(f"{api_root}/api/v1/files/upload", timeout=10)
    assert answer.status_code == 405 and "message" in answer.json()
