"""Issue #15, the uploader page: the limits it states before anything is sent (from the
plan, the quota module and the uploader key's own policy), and the member's recent uploads
listed from the server, so results survive a reload."""

import json
from datetime import timedelta
from html import unescape

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from environments.models import BillingPlan
from environments.quotas import quota_period_of, upload_limit_sentence
from environments.services import environment_create
from images.models import Image, ImageStatus
from images.views_upload import RECENT_UPLOADS_SHOWN, uploader_key_name
from imgwire_site.dashboard_format import human_bytes, human_datetime
from keys.models import CLIENT_KEY_DEFAULT_MAX_UPLOAD_BYTES, ApiKey, ApiKeyType
from keys.services import api_key_create
from tests.dashboard.conftest import signed_in

pytestmark = pytest.mark.django_db

MIB = 2**20
# Session, user, environment with its plan, membership; the stated limits' usage and
# upload check (an aggregate each), the recent uploads (one, whatever their number); the
# standing banner's upload check and the organizations switcher (two).
PAGE_QUERIES = 10


def _page(user, environment) -> str:
    response = signed_in(user).get(f"/dashboard/{environment.id}/images/upload/")
    assert response.status_code == 200
    return unescape(response.content.decode())


def _on_plan(owner, **limits) -> BillingPlan:
    plan = BillingPlan.objects.create(name="Starter", **limits)
    owner.organization.billing_plan = plan
    owner.organization.save()
    return plan


def _uploader_key(user, environment):
    key, _ = api_key_create(
        environment=environment,
        name=uploader_key_name(user),
        key_type=ApiKeyType.CLIENT,
        minted_for=user,
    )
    return key


def _image(environment, name, key=None, **fields) -> Image:
    defaults = {"extension": "png", "mime_type": "image/png", "status": ImageStatus.READY}
    return Image.objects.create(
        environment=environment,
        original_filename=name,
        created_by_key=key,
        **{**defaults, **fields},
    )


def _listed(content: str) -> list[str]:
    """The file names of the rows the server rendered into the uploads list."""
    listed = content.split('id="uploads"', 1)[1].split("</ul>", 1)[0]
    return [part.split("</a>", 1)[0] for part in listed.split('class="name" href="')[1:]]


def _names(content: str) -> list[str]:
    return [name.split('">', 1)[1] for name in _listed(content)]


def test_the_page_states_the_accepted_types_the_largest_file_and_the_batch_size(owner):
    content = _page(owner.user, owner.environment)
    assert (
        "Accepted types: JPEG, JPEG XL, PNG, WebP, AVIF, GIF, ICO, HEIC, BMP and TIFF." in content
    )
    assert f"Largest file: {human_bytes(CLIENT_KEY_DEFAULT_MAX_UPLOAD_BYTES)}." in content
    assert "Largest file: 50 MiB." in content
    assert "Up to 50 files per drop or selection; 3 are sent at a time" in content
    assert "The Unlimited plan sets no limit on uploads, storage or pending uploads." in content


def test_the_stated_largest_file_is_the_one_the_api_applies_to_the_uploader_key(owner):
    client = signed_in(owner.user)
    url = f"/dashboard/{owner.environment.id}/images/upload/credentials/"
    given = json.loads(client.post(url, {"count": "2"}).content)
    api = owner.client(given["client_key"])

    def create(token, size):
        return api.post(
            f"/api/v1/images/standard_upload?upload_token={token}",
            {"file_name": "big.jpg", "content_length": size},
            format="json",
        )

    stated = CLIENT_KEY_DEFAULT_MAX_UPLOAD_BYTES
    refused = create(given["upload_tokens"][0], stated + 1)
    assert refused.status_code == 422
    assert f"maximum_upload_bytes ({stated})" in refused.json()["detail"][0]["msg"]
    assert create(given["upload_tokens"][1], stated).status_code == 200


def test_the_page_says_what_the_plan_still_allows_this_period(owner):
    _on_plan(owner, upload_limit=10, storage_bytes_limit=1024 * MIB, maximum_pending_uploads=5)
    _image(owner.environment, "stored.png", size_bytes=100 * MIB)
    _image(owner.environment, "waiting.png", status=ImageStatus.PENDING)
    _image(owner.environment, "gone.png", deleted_at=timezone.now())  # still an upload
    content = _page(owner.user, owner.environment)
    period_end = human_datetime(quota_period_of(owner.organization).end)
    assert (
        f"Uploads left this period: 7 of the 10 of the Starter plan (the period ends "
        f"{period_end})." in content
    )
    assert "Storage left: 924 MiB of 1 GiB." in content
    assert "Pending places left: 4 of 5" in content
    assert 'id="upload-refused"' not in content


def test_a_plan_limiting_only_uploads_says_the_rest_is_unlimited(owner):
    _on_plan(owner, upload_limit=3)
    content = _page(owner.user, owner.environment)
    assert "Uploads left this period: 3 of the 3" in content
    assert "The Starter plan sets no limit on storage and pending uploads." in content


def test_an_exhausted_upload_limit_disables_the_drop_zone_with_the_apis_sentence(owner):
    plan = _on_plan(owner, upload_limit=1)
    _image(owner.environment, "only.png")
    content = _page(owner.user, owner.environment)
    sentence = upload_limit_sentence(1, 1, plan, quota_period_of(owner.organization))
    refused = content.split('id="upload-refused"', 1)[1].split("</p>", 1)[0]
    assert "Uploads are refused right now." in refused
    assert sentence in refused
    assert 'aria-disabled="true" data-refused="true"' in content
    assert 'disabled aria-describedby="upload-refused"' in content
    assert "Uploads left this period: 0 of the 1" in content


def test_a_blocked_organization_is_told_why_it_cannot_upload(owner):
    owner.organization.blocked = True
    owner.organization.save()
    content = _page(owner.user, owner.environment)
    refused = content.split('id="upload-refused"', 1)[1].split("</p>", 1)[0]
    assert "This organization is blocked" in refused
    assert 'data-refused="true"' in content


def test_the_list_shows_only_this_members_recent_uploads_in_this_environment(
    owner, developer, outsider
):
    mine = _uploader_key(owner.user, owner.environment)
    _image(owner.environment, "older.png", mine)
    _image(owner.environment, "mine.png", mine)
    _image(owner.environment, "by-api.png", None)
    _image(owner.environment, "by-the-developer.png", _uploader_key(developer, owner.environment))
    staging = environment_create(organization=owner.organization, name="Staging")
    _image(staging, "other-environment.png", _uploader_key(owner.user, staging))
    _image(outsider.environment, "outsider.png", _uploader_key(outsider.user, outsider.environment))
    yesterday = _image(owner.environment, "yesterday.png", mine)
    Image.objects.filter(id=yesterday.id).update(created_at=timezone.now() - timedelta(hours=25))
    _image(owner.environment, "deleted.png", mine, deleted_at=timezone.now())

    content = _page(owner.user, owner.environment)
    assert _names(content) == ["mine.png", "older.png"]
    assert _names(_page(developer, owner.environment)) == ["by-the-developer.png"]
    assert _names(_page(owner.user, staging)) == ["other-environment.png"]


def test_the_list_keeps_a_members_uploads_after_they_change_their_email_address(owner):
    key = _uploader_key(owner.user, owner.environment)
    _image(owner.environment, "before.png", key)
    owner.user.email = owner.user.username = "renamed@example.com"
    owner.user.save()
    assert _names(_page(owner.user, owner.environment)) == ["before.png"]
    # And the next session's key is theirs too, whatever its name says.
    url = f"/dashboard/{owner.environment.id}/images/upload/credentials/"
    signed_in(owner.user).post(url, {"count": "0"})
    newest = ApiKey.objects.for_environment(owner.environment).order_by("-created_at").first()
    assert newest.minted_for == owner.user
    assert newest.name == "Dashboard uploader (renamed@example.com)"


def test_the_list_is_newest_first_and_bounded(owner):
    mine = _uploader_key(owner.user, owner.environment)
    images = [_image(owner.environment, f"n{n}.png", mine) for n in range(RECENT_UPLOADS_SHOWN + 3)]
    now = timezone.now()
    for n, image in enumerate(images):
        Image.objects.filter(id=image.id).update(created_at=now - timedelta(minutes=n))
    names = _names(_page(owner.user, owner.environment))
    assert names == [f"n{n}.png" for n in range(RECENT_UPLOADS_SHOWN)]


def test_each_row_says_its_status_in_words_and_links_to_the_image(owner):
    mine = _uploader_key(owner.user, owner.environment)
    ready = _image(owner.environment, "ready.png", mine)
    _image(
        owner.environment,
        "bad.png",
        mine,
        status=ImageStatus.QUARANTINE,
        status_reason="The file is not a PNG image: it could not be decoded.",
    )
    verifying = _image(owner.environment, "verifying.png", mine, status=ImageStatus.PROCESSING)
    _image(owner.environment, "cut.png", mine, status=ImageStatus.PENDING)
    content = _page(owner.user, owner.environment)
    env = owner.environment.id

    ready_row = content.split(f'data-id="{ready.id}"', 1)[1].split("</li>", 1)[0]
    assert f'src="/dashboard/{env}/images/{ready.id}/preview/?preset=thumbnail"' in ready_row
    assert f'href="/dashboard/{env}/images/{ready.id}/"' in ready_row
    assert ">ready</span>" in ready_row
    assert "The file is not a PNG image: it could not be decoded." in content
    assert ">quarantined</span>" in content
    verifying_row = content.split(f'data-id="{verifying.id}"', 1)[1].split(">", 1)[0]
    assert 'data-status="PROCESSING" data-follow="true"' in verifying_row
    assert "Its bytes never arrived" in content
    assert ">upload not finished</span>" in content
    assert content.count('data-follow="true"') == 1


def test_the_page_costs_the_same_queries_with_one_recent_upload_or_many(owner):
    _on_plan(owner, upload_limit=1000, storage_bytes_limit=2**40, maximum_pending_uploads=100)
    mine = _uploader_key(owner.user, owner.environment)
    _image(owner.environment, "first.png", mine)
    client = signed_in(owner.user)
    url = f"/dashboard/{owner.environment.id}/images/upload/"
    client.get(url)  # the first visit writes the session

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    few = count()
    for n in range(20):
        _image(owner.environment, f"more-{n}.png", mine, status=ImageStatus.PROCESSING)
        _image(owner.environment, f"cut-{n}.png", mine, status=ImageStatus.PENDING)
    assert (few, count()) == (few, few)
    assert few == PAGE_QUERIES


def test_credentials_for_no_file_give_the_key_alone(owner):
    url = f"/dashboard/{owner.environment.id}/images/upload/credentials/"
    given = json.loads(signed_in(owner.user).post(url, {"count": "0"}).content)
    assert given["client_key"].startswith("ck_")
    assert given["upload_tokens"] == []


def test_outsiders_and_visitors_get_no_uploader(owner, outsider):
    url = f"/dashboard/{owner.environment.id}/images/upload/"
    assert signed_in(outsider.user).get(url).status_code == 404
    assert signed_in(outsider.user).post(url + "credentials/").status_code == 404
    assert Client().get(url).status_code == 302
