"""The dashboard's webhook pages: owners and admins manage subscriptions, every member reads
them and their delivery logs, and a secret is shown once."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from environments.webhooks.models import Attempt, Delivery, Event, Subscription
from environments.webhooks.services import (
    subscription_create,
    subscription_secret,
    webhook_event_record,
)
from environments.webhooks.tasks import deliveries_send_due
from tests.dashboard.conftest import admin_user, signed_in  # noqa: F401 (a fixture)
from tests.webhooks.conftest import HOOK_URL

pytestmark = pytest.mark.django_db


def page(owner, tail: str = "") -> str:
    return f"/dashboard/{owner.environment.id}/webhooks/{tail}"


def test_creating_a_webhook_shows_its_secret_once_and_a_reload_creates_nothing(owner):
    client = signed_in(owner.user)
    created = client.post(
        page(owner, "new/"),
        {"url": HOOK_URL, "events": ["image.ready", "file.uploaded"], "format": "standard"},
    )
    assert created.status_code == 302  # Post/Redirect/Get
    subscription = Subscription.objects.get()
    assert subscription.events == ["image.ready", "file.uploaded"]
    shown = client.get(created["Location"])
    secret = shown.context["secret"]
    assert secret == subscription_secret(subscription) and secret.encode() in shown.content
    assert shown["Cache-Control"] == "no-store"
    reloaded = client.get(created["Location"])
    assert reloaded.status_code == 200 and reloaded.context["secret"] is None
    assert secret.encode() not in reloaded.content
    assert b"shown once and cannot be shown again" in reloaded.content
    assert Subscription.objects.count() == 1
    listing = client.get(page(owner))
    assert HOOK_URL.encode() in listing.content and secret.encode() not in listing.content


def test_another_member_cannot_collect_a_new_webhooks_secret(owner, admin_user):  # noqa: F811
    created = signed_in(owner.user).post(
        page(owner, "new/"), {"url": HOOK_URL, "format": "standard"}
    )
    other = signed_in(admin_user).get(created["Location"])
    assert other.status_code == 200 and other.context["secret"] is None


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("https://10.0.0.1/hook", b"public addresses only"),
        ("https://169.254.169.254/latest", b"public addresses only"),
        ("ftp://hooks.example.com/", b"scheme"),
        ("https://hooks.example.com/" + "x" * 3000, b"at most 2000 characters"),
    ],
)
def test_a_refused_url_is_shown_on_the_form_and_nothing_is_created(owner, url, said):
    response = signed_in(owner.user).post(page(owner, "new/"), {"url": url, "format": "standard"})
    assert response.status_code == 200
    assert response.context["form"].errors["url"]
    assert said in response.content
    assert not Subscription.objects.exists()


def test_a_plain_http_url_is_refused_unless_the_operator_allows_it(owner, settings):
    settings.IMGWIRE_WEBHOOK_ALLOW_HTTP = False
    response = signed_in(owner.user).post(
        page(owner, "new/"), {"url": "http://hooks.example.com/x", "format": "standard"}
    )
    assert response.status_code == 200 and b"https://" in response.content
    assert not Subscription.objects.exists()


def test_an_unknown_event_or_format_is_refused_by_the_form(owner):
    response = signed_in(owner.user).post(
        page(owner, "new/"), {"url": HOOK_URL, "events": ["image.exploded"], "format": "zapier"}
    )
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"events", "format"}
    assert not Subscription.objects.exists()


def test_a_nul_in_a_field_is_refused_before_any_view(owner):
    response = signed_in(owner.user).post(
        page(owner, "new/"), {"url": HOOK_URL + "\x00", "format": "standard"}
    )
    assert response.status_code == 400
    assert not Subscription.objects.exists()


def test_editing_changes_the_url_events_format_and_enabled(owner, existing):
    response = signed_in(owner.user).post(
        page(owner, f"{existing.pk}/edit/"),
        {"url": "https://other.example.com/in", "events": ["file.deleted"], "format": "uploadcare"},
    )
    assert response.status_code == 302
    existing.refresh_from_db()
    assert (existing.url, existing.events, existing.format, existing.enabled) == (
        "https://other.example.com/in",
        ["file.deleted"],
        "uploadcare",
        False,  # the box was not checked
    )


def test_the_edit_form_shows_the_current_settings(owner, existing):
    response = signed_in(owner.user).get(page(owner, f"{existing.pk}/edit/"))
    assert response.status_code == 200
    assert response.context["form"].initial["url"] == HOOK_URL
    assert HOOK_URL.encode() in response.content


def test_rotating_asks_first_then_shows_the_new_secret_once(owner, existing):
    client = signed_in(owner.user)
    before = subscription_secret(existing)
    asked = client.get(page(owner, f"{existing.pk}/rotate/"))
    assert asked.status_code == 200
    existing.refresh_from_db()
    assert subscription_secret(existing) == before  # a GET changes nothing
    rotated = client.post(page(owner, f"{existing.pk}/rotate/"))
    assert rotated.status_code == 302
    shown = client.get(rotated["Location"])
    existing.refresh_from_db()
    secret = subscription_secret(existing)
    assert secret != before and shown.context["secret"] == secret
    assert client.get(rotated["Location"]).context["secret"] is None


def test_deleting_asks_first_then_deletes(owner, existing):
    client = signed_in(owner.user)
    assert client.get(page(owner, f"{existing.pk}/delete/")).status_code == 200
    assert Subscription.objects.exists()
    assert client.post(page(owner, f"{existing.pk}/delete/")).status_code == 302
    assert not Subscription.objects.exists()


def test_the_log_shows_each_attempts_time_status_latency_and_excerpt(
    owner, receiver, loopback_allowed
):
    subscription, _ = subscription_create(environment=owner.environment, url=receiver.url())
    receiver.statuses = [503, 200]
    webhook_event_record(environment=owner.environment, type="image.ready", payload={"id": "i"})
    deliveries_send_due()
    deliveries_send_due(now=Delivery.objects.get().next_attempt_at)
    response = signed_in(owner.user).get(page(owner, f"{subscription.pk}/"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "image.ready" in text and "delivered" in text
    assert "<strong>503</strong>" in text and "<strong>200</strong>" in text
    attempts = list(Attempt.objects.order_by("at"))
    assert len(attempts) == 2
    assert all(f"{a.latency_ms} ms" in text for a in attempts)
    assert "<code>ok</code>" in text  # the receiver's answer, excerpted
    assert f'datetime="{attempts[0].at.isoformat()}"' in text


def test_an_attempt_without_an_answer_shows_its_error_and_a_bounded_excerpt(owner, delivery):
    Attempt.objects.create(
        delivery=delivery,
        at=delivery.next_attempt_at,
        latency_ms=7,
        error="SourceConnectionError: refused",
    )
    Attempt.objects.create(
        delivery=delivery,
        at=delivery.next_attempt_at,
        status_code=500,
        latency_ms=9,
        response_excerpt="E" * 500,
    )
    text = signed_in(owner.user).get(page(owner, f"{delivery.subscription_id}/")).content.decode()
    assert "no answer" in text and "SourceConnectionError: refused" in text
    assert "E" * 299 in text and "E" * 301 not in text


def test_send_again_makes_the_delivery_due_and_enqueues_it(
    owner, delivery, django_capture_on_commit_callbacks
):
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.FAILED)
    with django_capture_on_commit_callbacks() as callbacks:
        response = signed_in(owner.user).post(
            page(owner, f"{delivery.subscription_id}/deliveries/{delivery.pk}/send-again/")
        )
    assert response.status_code == 302
    assert len(callbacks) == 1  # the send to the worker, on commit
    delivery.refresh_from_db()
    assert delivery.status == Delivery.PENDING


def test_send_again_to_a_disabled_webhook_says_why_and_changes_nothing(owner, delivery):
    Subscription.objects.update(enabled=False)
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.FAILED)
    response = signed_in(owner.user).post(
        page(owner, f"{delivery.subscription_id}/deliveries/{delivery.pk}/send-again/"),
        follow=True,
    )
    assert b"enable it before sending again" in response.content
    delivery.refresh_from_db()
    assert delivery.status == Delivery.FAILED


def test_the_test_button_enqueues_a_webhook_test_delivery(
    owner, existing, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = signed_in(owner.user).post(page(owner, f"{existing.pk}/test/"))
    assert response.status_code == 302
    assert len(callbacks) == 1
    event = Event.objects.get()
    assert event.type == "webhook.test"
    assert event.deliveries.get().subscription == existing
    assert event.deliveries.get().status == Delivery.PENDING
    log = signed_in(owner.user).get(response["Location"])
    assert b"webhook.test" in log.content


def test_the_test_button_is_a_post_only_action(owner, existing):
    assert signed_in(owner.user).get(page(owner, f"{existing.pk}/test/")).status_code == 405
    assert not Event.objects.exists()


def test_an_admin_manages_webhooks(owner, admin_user, existing):  # noqa: F811
    client = signed_in(admin_user)
    assert client.get(page(owner, "new/")).status_code == 200
    assert client.post(page(owner, f"{existing.pk}/test/")).status_code == 302
    assert client.post(page(owner, f"{existing.pk}/delete/")).status_code == 302
    assert not Subscription.objects.exists()


def test_a_developer_reads_webhooks_and_their_logs_without_the_buttons(owner, developer, delivery):
    client = signed_in(developer)
    listing = client.get(page(owner))
    assert listing.status_code == 200 and HOOK_URL.encode() in listing.content
    assert b"Add a webhook" not in listing.content and b"Rotate secret" not in listing.content
    log = client.get(page(owner, f"{delivery.subscription_id}/"))
    assert log.status_code == 200 and b"image.ready" in log.content
    assert b"Send again" not in log.content and b"Send a test event" not in log.content


MANAGING = [
    ("get", "new/"),
    ("post", "new/"),
    ("get", "{id}/edit/"),
    ("post", "{id}/edit/"),
    ("get", "{id}/secret/"),
    ("get", "{id}/rotate/"),
    ("post", "{id}/rotate/"),
    ("get", "{id}/delete/"),
    ("post", "{id}/delete/"),
    ("post", "{id}/test/"),
    ("post", "{id}/deliveries/{delivery}/send-again/"),
]
READING = [("get", ""), ("get", "{id}/")]


def _at(owner, delivery, tail):
    return page(owner, tail.format(id=delivery.subscription_id, delivery=delivery.pk))


@pytest.mark.parametrize(("method", "tail"), MANAGING)
def test_a_developer_cannot_manage_webhooks(owner, developer, delivery, method, tail):
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.FAILED)
    payload = {"url": "https://evil.example.com/", "format": "standard"}
    response = getattr(signed_in(developer), method)(_at(owner, delivery, tail), payload)
    assert response.status_code == 403
    subscription = Subscription.objects.get()
    assert subscription.url == HOOK_URL and subscription.enabled
    assert Event.objects.count() == 1
    assert Delivery.objects.get().status == Delivery.FAILED


@pytest.mark.parametrize(("method", "tail"), MANAGING + READING)
def test_an_outsider_gets_404_on_every_webhook_page(owner, outsider, delivery, method, tail):
    response = getattr(signed_in(outsider.user), method)(_at(owner, delivery, tail))
    assert response.status_code == 404
    assert Subscription.objects.get().url == HOOK_URL


@pytest.mark.parametrize(("method", "tail"), MANAGING + READING)
def test_an_anonymous_visitor_is_sent_to_sign_in(owner, delivery, method, tail):
    from django.test import Client

    response = getattr(Client(), method)(_at(owner, delivery, tail))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(("method", "tail"), [m for m in MANAGING + READING if "{id}" in m[1]])
def test_another_environments_webhook_is_a_404_in_ones_own_environment(
    owner, outsider, method, tail
):
    theirs, _ = subscription_create(environment=outsider.environment, url=HOOK_URL)
    webhook_event_record(environment=outsider.environment, type="image.ready", payload={})
    their_delivery = Delivery.objects.get()
    url = page(owner, tail.format(id=theirs.pk, delivery=their_delivery.pk))
    assert getattr(signed_in(owner.user), method)(url).status_code == 404
    assert Subscription.objects.get().url == HOOK_URL and Event.objects.count() == 1


def test_a_huge_id_is_a_404_not_an_error(owner):
    assert signed_in(owner.user).get(page(owner, f"{10**30}/")).status_code == 404


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_list_and_the_log_cost_the_same_queries_however_much_they_show(owner, existing):
    client = signed_in(owner.user)
    webhook_event_record(environment=owner.environment, type="image.ready", payload={})
    client.get(page(owner))  # the session's first page writes it
    few = (_queries(client, page(owner)), _queries(client, page(owner, f"{existing.pk}/")))
    for n in range(5):
        subscription_create(environment=owner.environment, url=f"{HOOK_URL}/{n}")
        webhook_event_record(environment=owner.environment, type="image.ready", payload={})
    for delivery in Delivery.objects.all():
        Attempt.objects.create(delivery=delivery, at=delivery.next_attempt_at, latency_ms=1)
        Attempt.objects.create(delivery=delivery, at=delivery.next_attempt_at, latency_ms=2)
    many = (_queries(client, page(owner)), _queries(client, page(owner, f"{existing.pk}/")))
    assert many == few
