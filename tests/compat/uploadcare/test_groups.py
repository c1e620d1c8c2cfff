"""group/ and group/info/: pyuploadcare's own calls (including its "/group//"), and refusals."""

import uuid

import pytest
import requests
from pyuploadcare import Uploadcare
from pyuploadcare.exceptions import InvalidRequestError

from images.compat.uploadcare.models import UploadcareGroup
from keys.signing import signing_secret_reveal
from tests.compat.uploadcare.test_hostile_requests import A_FILE, post_base

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def host_root(live_server, settings):
    settings.IMGWIRE_UPLOADCARE_HOST = "127.0.0.1"
    return f"http://127.0.0.1:{live_server.url.rsplit(':', 1)[1]}/"


def uploaded(tenant) -> str:
    return post_base({"UPLOADCARE_PUB_KEY": tenant.client_key}, A_FILE).json()["file"]


def test_pyuploadcare_creates_a_group_and_reads_it_back(owner, host_root):
    client = Uploadcare(
        public_key=owner.client_key,
        secret_key=signing_secret_reveal(environment=owner.environment),
        upload_base=host_root,
    )
    first, second = uploaded(owner), uploaded(owner)
    group = client.create_file_group([client.file(first), client.file(second)])
    assert group.id.endswith("~2")
    assert [f.uuid for f in group] == [first, second]
    info = requests.get(
        f"{host_root}group/info/",
        params={"pub_key": owner.client_key, "group_id": group.id},
        timeout=10,
    ).json()
    assert info["id"] == group.id and info["files_count"] == 2
    assert [f["uuid"] for f in info["files"]] == [first, second]


def test_files_may_be_ids_with_operations_or_cdn_urls_sent_as_files_brackets(owner, host_root):
    first, second = uploaded(owner), uploaded(owner)
    cdn_url = f"http://localhost/cdn/{owner.organization.id}/{owner.environment.id}/{second}"
    answer = requests.post(
        f"{host_root}group/?jsonerrors=1",
        data=[
            ("pub_key", owner.client_key),
            ("files[]", f"{first}/-/resize/x800/"),
            ("files[]", cdn_url + "?width=100"),
        ],
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    files = answer.json()["files"]
    assert [(f["uuid"], f["default_effects"]) for f in files] == [
        (first, "-/resize/x800/"),
        (second, ""),
    ]


def test_a_file_of_another_environment_cannot_join_a_group(owner, outsider, host_root):
    answer = requests.post(
        f"{host_root}group/",
        data={
            "pub_key": owner.client_key,
            "files[0]": uploaded(owner),
            "files[1]": uploaded(outsider),
        },
        timeout=10,
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["error_code"] == "GroupFilesNotFoundError"
    assert not UploadcareGroup.objects.exists()


def test_another_environment_cannot_read_a_group(owner, outsider, host_root):
    group = requests.post(
        f"{host_root}group/",
        data={"pub_key": owner.client_key, "files[0]": uploaded(owner)},
        timeout=10,
    ).json()
    answer = requests.get(
        f"{host_root}group/info/",
        params={"pub_key": outsider.client_key, "group_id": group["id"]},
        timeout=10,
    )
    assert answer.status_code == 404
    assert answer.json()["error"]["error_code"] == "GroupNotFoundError"


@pytest.mark.parametrize(
    ("files", "code"),
    [
        ({}, "GroupFilesInvalidError"),
        ({"files[0]": "not a file"}, "GroupFileURLParsingFailedError"),
        ({"files[0]": str(uuid.uuid4())}, "GroupFilesNotFoundError"),
    ],
)
def test_group_refusals_name_the_problem(owner, host_root, files, code):
    answer = requests.post(
        f"{host_root}group/", data={"pub_key": owner.client_key, **files}, timeout=10
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["error_code"] == code


def test_a_thousand_files_brackets_are_refused_cleanly(owner, host_root):
    data = [("pub_key", owner.client_key)] + [("files[]", str(uuid.uuid4()))] * 1000
    answer = requests.post(f"{host_root}group/", data=data, timeout=10)
    assert answer.status_code == 400
    assert answer.json()["error"]["error_code"] in {
        "RequestFiledsNumberLimitExceededError",
        "GroupFilesNotFoundError",
    }


@pytest.mark.parametrize("group_id", ["", "abc", f"{uuid.uuid4()}~2", "x~1"])
def test_group_info_refuses_missing_malformed_and_unknown_ids(owner, host_root, group_id):
    answer = requests.get(
        f"{host_root}group/info/",
        params={"pub_key": owner.client_key, "group_id": group_id},
        timeout=10,
    )
    code = "GroupIdRequiredError" if not group_id else "GroupNotFoundError"
    assert answer.json()["error"]["error_code"] == code


def test_pyuploadcare_reports_an_empty_group_request_as_invalid(owner, host_root):
    client = Uploadcare(public_key=owner.client_key, secret_key="x", upload_base=host_root)
    with pytest.raises(InvalidRequestError, match="GroupFilesInvalidError"):
        client.upload_api.create_group(files=[])
