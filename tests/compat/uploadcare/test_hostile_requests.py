"""Bad input to the Uploadcare endpoints gets Uploadcare's error shape, never a 500."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from images.compat.uploadcare.models import UploadcareFetch, UploadcareFile
from images.compat.uploadcare.services import uploadcare_remove_unstored
from images.models import Image
from tests.imagegen import jpeg

pytestmark = pytest.mark.django_db


def post_base(fields: dict, files: dict | None = None, path="/uploadcare/base/", **extra):
    data = {**fields}
    for name, (file_name, content, content_type) in (files or {}).items():
        from django.core.files.uploadedfile import SimpleUploadedFile

        data[name] = SimpleUploadedFile(file_name, content, content_type=content_type)
    return Client().post(f"{path}?jsonerrors=1", data, **extra)


def error_of(response) -> tuple[int, str]:
    body = response.json()["error"]
    assert body["status_code"] == response.status_code
    assert body["content"]
    return response.status_code, body["error_code"]


A_FILE = {"file": ("a.jpg", jpeg(8, 8), "image/jpeg")}


def test_a_missing_public_key_is_named(owner):
    assert error_of(post_base({}, A_FILE)) == (403, "ProjectPublicKeyRequiredError")


def test_a_request_without_a_file_says_so(owner):
    assert error_of(post_base({"UPLOADCARE_PUB_KEY": owner.client_key})) == (
        400,
        "FileRequiredError",
    )


def test_the_wrong_method_answers_405_in_the_vendors_shape(owner):
    assert error_of(Client().get("/uploadcare/base/")) == (405, "MethodNotAllowedError")
    assert error_of(Client().post("/uploadcare/info/")) == (405, "MethodNotAllowedError")


@pytest.mark.parametrize(
    ("expire", "code"),
    [
        ("tomorrow", "SignatureExpirationInvalidError"),
        ("", "SignatureExpirationRequiredError"),
        ("9" * 40, "SignatureExpirationInvalidError"),
        ("\uff11\uff12\uff13", "SignatureExpirationInvalidError"),
    ],
)
def test_garbage_expire_is_refused(owner, expire, code):
    from keys.models import ApiKeyType
    from keys.services import api_key_create

    _, key = api_key_create(
        environment=owner.environment,
        name="s",
        key_type=ApiKeyType.CLIENT,
        allow_unsigned_upload=False,
    )
    fields = {"UPLOADCARE_PUB_KEY": key, "signature": "ab" * 32, "expire": expire}
    assert error_of(post_base(fields, A_FILE))[1] == code


def test_a_non_ascii_signature_is_invalid_not_an_error(owner):
    from keys.models import ApiKeyType
    from keys.services import api_key_create

    _, key = api_key_create(
        environment=owner.environment,
        name="s",
        key_type=ApiKeyType.CLIENT,
        allow_unsigned_upload=False,
    )
    fields = {"UPLOADCARE_PUB_KEY": key, "signature": "é" * 64, "expire": "99999999999"}
    assert error_of(post_base(fields, A_FILE)) == (403, "SignatureInvalidError")


@pytest.mark.parametrize(
    ("metadata", "code"),
    [
        ({"metadata[]": "x"}, "FileMetadataKeyEmptyError"),
        ({"metadata[" + "k" * 65 + "]": "x"}, "FileMetadataKeyLengthTooBigError"),
        ({"metadata[bad key!]": "x"}, "FileMetadataKeyForbiddenError"),
        ({"metadata[k]": ""}, "FileMetadataValueEmptyError"),
        ({"metadata[k]": "v" * 513}, "FileMetadataValueLengthTooBigError"),
        ({f"metadata[k{n}]": "v" for n in range(51)}, "FileMetadataKeysNumberTooBigError"),
        ({"metadata[k]": ["a", "b"]}, "FileMetadataKeyDuplicatedError"),
        ({"metadata[k]": "nul\x00here"}, "NullCharactersForbiddenError"),
        ({"metadata[k\x00]": "v"}, "NullCharactersForbiddenError"),
    ],
)
def test_metadata_is_checked_as_uploadcare_checks_it(owner, metadata, code):
    response = post_base({"UPLOADCARE_PUB_KEY": owner.client_key, **metadata}, A_FILE)
    assert error_of(response) == (400, code)
    assert not Image.objects.exists()


def test_a_thousand_fields_are_refused_before_anything_is_stored(owner):
    fields = {"UPLOADCARE_PUB_KEY": owner.client_key, **{f"f{n}": "x" for n in range(1001)}}
    assert error_of(post_base(fields, A_FILE)) == (400, "RequestFiledsNumberLimitExceededError")


def test_a_body_over_the_direct_upload_cap_is_refused_from_its_length(owner):
    response = Client().generic(
        "POST",
        "/uploadcare/base/",
        b"x",
        content_type="multipart/form-data; boundary=zz",
        CONTENT_LENGTH=str(200 * 1024 * 1024),
    )
    assert error_of(response) == (413, "RequestSizeLimitExceededError")


def test_a_broken_multipart_body_is_a_parse_error(owner):
    response = Client().generic(
        "POST", "/uploadcare/base/", b"--zz\r\ngarbage", content_type="multipart/form-data"
    )
    assert error_of(response) == (400, "PostRequestParserFailedError")


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({}, "ProjectPublicKeyRequiredError"),
        ({"file_id": "x"}, "FileIdInvalidError"),
        ({"file_id": ""}, "FileIdRequiredError"),
    ],
)
def test_info_names_what_is_missing_or_malformed(owner, query, code):
    params = {"pub_key": owner.client_key, **query} if query else {}
    response = Client().get("/uploadcare/info/", params)
    assert error_of(response)[1] == code


def test_temporary_files_are_removed_after_24_hours_and_stored_ones_kept(owner):
    keep = post_base({"UPLOADCARE_PUB_KEY": owner.client_key, "UPLOADCARE_STORE": "1"}, A_FILE)
    drop = post_base({"UPLOADCARE_PUB_KEY": owner.client_key, "UPLOADCARE_STORE": "0"}, A_FILE)
    kept, dropped = keep.json()["file"], drop.json()["file"]
    assert uploadcare_remove_unstored() == 0  # not yet
    later = timezone.now() + timedelta(hours=24, seconds=1)
    assert uploadcare_remove_unstored(later) == 1
    assert Image.objects.alive().filter(id=kept).exists()
    assert not Image.objects.alive().filter(id=dropped).exists()
    assert uploadcare_remove_unstored(later) == 0  # once
    assert UploadcareFile.objects.count() == 2


def test_a_browser_on_an_unlisted_origin_is_refused_and_a_listed_one_gets_cors_headers(owner):
    from domains.services import cors_origin_create

    cors_origin_create(environment=owner.environment, pattern="https://app.example.com")
    fields = {"UPLOADCARE_PUB_KEY": owner.client_key}
    refused = post_base(fields, A_FILE, HTTP_ORIGIN="https://evil.example.net")
    assert error_of(refused) == (403, "UploadFailedError")
    assert "Access-Control-Allow-Origin" not in refused
    allowed = post_base(fields, A_FILE, HTTP_ORIGIN="https://app.example.com")
    assert allowed.status_code == 200
    assert allowed["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert Image.objects.count() == 1


def test_a_preflight_for_base_is_answered_for_any_origin(owner):
    response = Client().options(
        "/uploadcare/base/",
        HTTP_ORIGIN="https://anywhere.example.net",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://anywhere.example.net"


def test_the_reconciler_removes_parts_of_abandoned_multipart_uploads(owner, settings):
    from images.compat.uploadcare.maintenance import uploadcare_reconcile
    from images.compat.uploadcare.models import UploadcareMultipart
    from images.storage import object_exists

    started = (
        Client()
        .post(
            "/uploadcare/multipart/start/",
            {
                "UPLOADCARE_PUB_KEY": owner.client_key,
                "filename": "a.png",
                "size": str(11 * 2**20),
                "content_type": "image/png",
            },
        )
        .json()
    )
    part = started["parts"][0].split("/uploadcare/", 1)[1]
    Client().generic(
        "PUT", "/uploadcare/" + part, b"x" * 5 * 2**20, content_type="application/octet-stream"
    )
    session = UploadcareMultipart.objects.get()
    assert object_exists(session.part_key(1))
    assert uploadcare_reconcile().multipart_parts_removed == 0
    later = timezone.now() + timedelta(seconds=settings.IMGWIRE_UPLOAD_URL_TTL_SECONDS * 2 + 1)
    assert uploadcare_reconcile(later).multipart_parts_removed == 1
    assert not object_exists(session.part_key(1))
    assert not UploadcareMultipart.objects.exists()


# The reconciler runs outside any transaction; inside one it would send on commit.
@pytest.mark.django_db(transaction=True)
def test_the_reconciler_resends_a_fetch_whose_message_was_lost(owner, settings):
    from images.compat.uploadcare.maintenance import uploadcare_reconcile
    from imgwire_site.broker import broker

    broker.flush_all()
    Client().post(
        "/uploadcare/from_url/",
        {"pub_key": owner.client_key, "source_url": "https://images.example/a.png"},
    )
    broker.flush_all()  # the message is lost
    assert uploadcare_reconcile().fetches_resent == 0
    later = timezone.now() + timedelta(minutes=5)
    assert uploadcare_reconcile(later).fetches_resent == 1
    assert broker.queues["uploadcare"].qsize() == 1
    assert uploadcare_reconcile(later).fetches_resent == 0  # its clock restarted
    assert UploadcareFetch.objects.get().status == "waiting"


@pytest.mark.parametrize("raw", [b"%ED%A0%80", b"%FF%FE", b"%C0%80"])
def test_bytes_that_are_not_utf8_in_metadata_never_reach_the_database_as_unencodable_text(
    owner, raw
):
    # A form has no \\ud800 escape: a lone surrogate can only arrive as its UTF-8-like
    # bytes, which Django decodes with replacement characters.
    body = b"pub_key=" + owner.client_key.encode() + b"&metadata%5Bk%5D=" + raw
    response = Client().generic(
        "POST",
        "/uploadcare/from_url/?source_url=https%3A%2F%2Fimages.example%2Fa.png",
        body,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200, response.content
    for fetch in UploadcareFetch.objects.all():
        assert all(value.encode("utf-8") for value in fetch.metadata.values())


@pytest.mark.parametrize(
    ("path", "query"),
    [
        ("/uploadcare/info/", {"pub_key": "ck_\x00", "file_id": "x"}),
        ("/uploadcare/group/info/", {"pub_key": "x", "group_id": "\x00"}),
        ("/uploadcare/from_url/status/", {"token": "\x00"}),
    ],
)
def test_a_nul_in_a_query_value_is_refused_before_any_lookup(owner, path, query):
    response = Client().get(path, query)
    assert error_of(response) == (400, "NullCharactersForbiddenError")
