"""Hostile requests to every operation of the Resource API answer 4xx in the JSON error shape.

The operations are read from the OpenAPI document generated from the URLconf (the one
/api/v1/openapi-server.json serves), so a new endpoint is covered as soon as it exists:
encodings, nesting, sizes, lying Content-Type and Content-Length headers and wrong JSON
types for every operation that takes a body; hostile query values, headers, path ids and
methods for all of them. Never a 5xx, never an HTML page, and no row written.
"""

import io
import json
import uuid
from functools import cache

import pytest
from django.apps import apps
from drf_spectacular.generators import SchemaGenerator

from imgwire_site.api.parsers import MAX_JSON_DEPTH

pytestmark = pytest.mark.django_db
METHODS = ("get", "post", "put", "patch", "delete")
JPEG_START = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xdb"


@cache
def document() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations() -> list[tuple[str, str, dict]]:
    return [
        (method.upper(), path, operation)
        for path, item in document()["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def resolved(schema: dict) -> dict:
    while "$ref" in schema:
        schema = document()["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def body_schema(operation: dict) -> dict | None:
    body = operation.get("requestBody")
    return body and resolved(body["content"]["application/json"]["schema"])


def url_of(path: str) -> str:
    """The path with a fresh UUID for each path parameter (nothing to find: bodies and
    parameters are refused before any lookup)."""
    parts = path.split("/")
    return "/".join(str(uuid.uuid4()) if part.startswith("{") else part for part in parts)


def case_id(case) -> str:
    method, path, *_ = case
    return f"{method} {path}"


ALL = operations()
WITH_BODY = [(method, path, op) for method, path, op in ALL if body_schema(op)]
ALL_BY_KEY = {(method, path): operation for method, path, operation in ALL}
WITH_PATH_ID = [(method, path, op) for method, path, op in ALL if "{" in path]


# Valid values for the required properties of today's bodies; a new required property
# gets "x", which may be refused too: the assertions below look for the probed field.
EXAMPLES = {
    "file_name": "a.jpg",
    # A loopback source is refused before any connection is made.
    "url": "http://127.0.0.1:9/a.jpg",
    "image_ids": [str(uuid.uuid4())],
    "pattern": "https://app.example.com",
    "hostname": "img.example.com",
}


def valid_body(schema: dict) -> dict:
    return {name: EXAMPLES.get(name, "x") for name in schema.get("required", [])}


def json_types(schema: dict) -> set[str]:
    """The JSON types a property schema allows (an integer is also a number)."""
    schema = resolved(schema)
    if "anyOf" in schema or "oneOf" in schema:
        return set().union(*map(json_types, schema.get("anyOf", schema.get("oneOf"))))
    declared = schema.get("type", [])
    declared = {declared} if isinstance(declared, str) else set(declared)
    if "enum" in schema and not declared:
        declared = {"null" if value is None else "string" for value in schema["enum"]}
    return declared | ({"integer"} if "number" in declared else set())


SAMPLES = {
    "string": "s",
    "integer": 7,
    "number": 1.5,
    "boolean": True,
    "array": [],
    "object": {},
    "null": None,
}


def wrong_type_cases():
    for method, path, operation in WITH_BODY:
        for name, schema in body_schema(operation).get("properties", {}).items():
            allowed = json_types(schema)
            for kind, value in SAMPLES.items():
                if allowed and kind not in allowed:
                    yield pytest.param(
                        method, path, name, value, id=f"{method} {path} {name}={kind}"
                    )


def property_cases():
    for method, path, operation in WITH_BODY:
        for name in body_schema(operation).get("properties", {}):
            yield pytest.param(method, path, name, id=f"{method} {path} {name}")


@pytest.fixture(autouse=True)
def production_errors(settings):
    settings.DEBUG = False


@pytest.fixture
def rows():
    """How many rows each model has; compare after a request to see nothing was written."""

    def count() -> dict:
        return {model._meta.label: model._default_manager.count() for model in apps.get_models()}

    return count


@pytest.fixture
def send(owner, rows):
    """Send a raw request with the owner's Server key; assert the refusal's shape."""
    before = rows()

    def send(method, path, raw=b"", content_type="application/json", **extra):
        client = owner.server
        client.raise_request_exception = False
        response = client.generic(method, path, raw, content_type=content_type, **extra)
        assert 400 <= response.status_code < 500, (response.status_code, response.content[:300])
        assert response["Content-Type"] == "application/json", response.content[:300]
        answer = json.loads(response.content.decode("utf-8"))
        if isinstance(answer["detail"], list):
            for problem in answer["detail"]:
                assert set(problem) == {"loc", "msg", "type"}
                assert problem["loc"] and all(
                    isinstance(part, str | int) for part in problem["loc"]
                )
        else:
            assert isinstance(answer["detail"], str) and isinstance(answer["error_type"], str)
        assert rows() == before, "a refused request wrote to the database"
        return response

    return send


def locs(response) -> list[list]:
    detail = response.json()["detail"]
    return [problem["loc"] for problem in detail] if isinstance(detail, list) else []


def test_the_cases_cover_the_served_document(ours):
    served = {
        (method.upper(), path)
        for path, item in ours["paths"].items()
        for method in item
        if method in METHODS
    }
    assert served == {(method, path) for method, path, _ in ALL}
    assert len(WITH_BODY) >= 7 and len(WITH_PATH_ID) >= 6


def utf16(text: str) -> bytes:
    return text.encode("utf-16")  # with its byte order mark


BAD_BODIES = {
    "invalid UTF-8": b'{"x": "\xff\xfe"}',
    "an encoded surrogate (CESU-8)": b'{"x": "\xed\xa0\x80"}',
    "UTF-16 with a byte order mark": utf16('{"x": "y"}'),
    "UTF-16LE without one": '{"x": "y"}'.encode("utf-16-le"),
    "a UTF-8 byte order mark": b'\xef\xbb\xbf{"x": "y"}',
    "a lone surrogate in a key": b'{"\\ud800": "y"}',
    "a lone surrogate in a value": b'{"x": "\\udbff"}',
    "a low surrogate first": b'{"x": "\\udc00\\ud800"}',
    "a NUL escaped in a key": b'{"x\\u0000": "y"}',
    "a NUL escaped in a value": b'{"x": "y\\u0000"}',
    "a raw NUL in a string": b'{"x": "y\x00"}',
    "a raw control character": b'{"x": "\x01"}',
    "arrays 1000 deep": b"[" * 1000 + b"]" * 1000,
    "objects 1000 deep": b'{"a":' * 1000 + b"1" + b"}" * 1000,
    "arrays 200 000 deep": b"[" * 200_000,
    f"{MAX_JSON_DEPTH + 1} levels": b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1),
    "NaN": b'{"x": NaN}',
    "a float that overflows to infinity": b'{"x": 1e999}',
    "an integer of 5000 digits": b'{"x": ' + b"9" * 5000 + b"}",
    "truncated": b'{"x": "y',
    "two documents": b'{"x": 1} {"x": 2}',
    "whitespace only": b"  \n ",
    "an array": b"[]",
    "a string": b'"x"',
    "a number": b"1",
    "null": b"null",
    "true": b"true",
    "image bytes": JPEG_START,
}


@pytest.mark.parametrize("case", WITH_BODY, ids=case_id)
@pytest.mark.parametrize("name", BAD_BODIES)
def test_a_hostile_body_answers_422(send, case, name):
    method, path, _ = case
    response = send(method, path, BAD_BODIES[name])
    assert response.status_code == 422


@pytest.mark.parametrize("case", WITH_BODY, ids=case_id)
@pytest.mark.parametrize("escaped", ["\\ud800", "\\u0000"])
def test_unstorable_text_in_a_key_anywhere_is_named(send, case, escaped):
    method, path, operation = case
    body = valid_body(body_schema(operation))
    raw = json.dumps({**body, "nested": [{"k": 1}]})[:-3] + f', "{escaped}": 2}}]}}'
    response = send(method, path, raw.encode())
    assert response.status_code == 422
    assert locs(response) == [["body", "nested", 0, escaped]]


@pytest.mark.parametrize(("method", "path", "name"), list(property_cases()))
@pytest.mark.parametrize("escaped", ["\\ud800", "\\udfff", "a\\u0000b"])
def test_unstorable_text_in_each_field_is_named(send, method, path, name, escaped):
    body = valid_body(body_schema(ALL_BY_KEY[(method, path)]))
    placeholder = "\ue000placeholder"
    raw = json.dumps({**body, name: placeholder}).replace(json.dumps(placeholder), f'"{escaped}"')
    response = send(method, path, raw.encode())
    assert response.status_code == 422
    assert locs(response) == [["body", name]]


@pytest.mark.parametrize(("method", "path", "name", "value"), list(wrong_type_cases()))
def test_a_wrong_json_type_in_each_field_answers_422_naming_it(send, method, path, name, value):
    body = {**valid_body(body_schema(ALL_BY_KEY[(method, path)])), name: value}
    response = send(method, path, json.dumps(body).encode())
    assert response.status_code == 422
    assert any(loc[:2] == ["body", name] for loc in locs(response)), response.json()


@pytest.mark.parametrize("case", WITH_BODY, ids=case_id)
def test_a_body_over_the_memory_limit_answers_413(send, settings, case):
    method, path, _ = case
    raw = b'{"x": "' + b"a" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + b'"}'
    response = send(method, path, raw)
    assert response.status_code == 413
    assert response.json()["error_type"] == "PayloadTooLargeError"


# Each lie with what answers it; a valid body is sent, so a lie that went unnoticed would
# show as that body's own answer (200, or 404 for unknown ids).
LYING_LENGTHS = {
    "longer than the body": (lambda raw: str(len(raw) + 100), 400),
    "shorter than the body": (lambda raw: str(len(raw) - 2), 422),
    "zero": (lambda raw: "0", 422),
    "negative": (lambda raw: "-1", 422),
    "not a number": (lambda raw: "ten", 422),
    "past the memory limit": (lambda raw: str(10**12), 413),
}


@pytest.mark.parametrize("case", WITH_BODY, ids=case_id)
@pytest.mark.parametrize("lie", LYING_LENGTHS)
def test_a_lying_content_length_answers_4xx(send, case, lie):
    method, path, operation = case
    raw = json.dumps(valid_body(body_schema(operation))).encode()
    length, expected = LYING_LENGTHS[lie]
    # What a WSGI server hands over: the bytes that came, whatever the header says.
    response = send(
        method, path, raw, CONTENT_LENGTH=length(raw), **{"wsgi.input": io.BytesIO(raw)}
    )
    assert response.status_code == expected


LYING_TYPES = {
    "text/plain": "text/plain",
    "a form": "application/x-www-form-urlencoded",
    "multipart": "multipart/form-data; boundary=xyz",
    "none": "",
    "JSON in Latin-1": "application/json; charset=latin-1",
    "JSON in UTF-16": "application/json; charset=utf-16",
    "JSON in an unknown charset": "application/json; charset=klingon",
    "an image": "image/jpeg",
}


@pytest.mark.parametrize("case", WITH_BODY, ids=case_id)
@pytest.mark.parametrize("lie", LYING_TYPES)
def test_a_lying_content_type_answers_422_naming_the_header(send, case, lie):
    method, path, operation = case
    raw = json.dumps(valid_body(body_schema(operation))).encode()
    response = send(method, path, raw, content_type=LYING_TYPES[lie])
    assert response.status_code == 422
    assert locs(response) == [["header", "Content-Type"]]


@pytest.mark.parametrize("case", ALL, ids=case_id)
@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("probe=a%00b", "probe"),
        ("%00=1", "\\u0000"),
        ("probe=%ff", "probe"),
        ("p%ED%A0%80=1", None),
    ],
)
def test_a_hostile_query_string_answers_422_naming_the_parameter(send, case, query, name):
    method, path, _ = case
    response = send(method, f"{url_of(path)}?{query}")
    assert response.status_code == 422
    assert locs(response)[0][0] == "query"
    if name is not None:
        assert locs(response) == [["query", name]]


@pytest.mark.parametrize("case", ALL, ids=case_id)
def test_each_documented_query_parameter_is_checked(send, case):
    method, path, operation = case
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "query":
            response = send(method, f"{url_of(path)}?{parameter['name']}=%00")
            assert locs(response) == [["query", parameter["name"]]]


@pytest.mark.parametrize("case", ALL, ids=case_id)
@pytest.mark.parametrize("header", ["HTTP_X_ENVIRONMENT_ID", "HTTP_ORIGIN", "HTTP_COOKIE"])
def test_a_nul_in_a_header_answers_422_naming_it(send, case, header):
    method, path, _ = case
    response = send(method, url_of(path), **{header: "a\x00b"})
    assert response.status_code == 422
    name = "-".join(word.capitalize() for word in header.removeprefix("HTTP_").split("_"))
    assert locs(response) == [["header", name]]


@pytest.mark.parametrize("case", WITH_PATH_ID, ids=case_id)
@pytest.mark.parametrize(
    "hostile",
    ["abc%2fdef", "%00", "%ED%A0%80", "..", "%2e%2e", "a" * 5000, "%252f", "%C0%AF", "😀"],
)
def test_a_hostile_path_id_answers_404_or_422(send, case, hostile):
    method, path, _ = case
    start, _, rest = path.partition("{")
    _, _, end = rest.partition("}")
    response = send(method, f"{start}{hostile}{end}")
    assert response.status_code in (404, 422)


@pytest.mark.parametrize(
    "path", ["/api/v1/nothing", "/api/v2/images/", "/api/v1/images/a/b/c", "/api/"]
)
def test_an_unknown_api_path_answers_404_in_the_json_shape(send, path):
    response = send("GET", path)
    assert response.status_code == 404
    assert response.json()["error_type"] == "ResourceNotFoundError"


@pytest.mark.parametrize("path", sorted({path for _, path, _ in ALL}))
def test_an_undocumented_method_answers_405_in_the_json_shape(send, path):
    documented = {method for method, other, _ in ALL if other == path}
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "TRACE", "BREW"):
        if method not in documented:
            response = send(method, url_of(path), b"{}")
            assert response.status_code == 405, method
            assert response.json()["error_type"] == "MethodNotAllowedError"


def test_an_uncaught_error_answers_500_in_the_json_shape(owner, monkeypatch):
    from images.api import ImageListView

    def fail(self, request):
        raise RuntimeError("a bug")

    monkeypatch.setattr(ImageListView, "get", fail)
    client = owner.server
    client.raise_request_exception = False
    response = client.get("/api/v1/images/")
    assert response.status_code == 500
    assert response.json()["error_type"] == "InternalServerError"
    assert "a bug" not in response.content.decode()
