"""/api/v1/webhooks: subscriptions managed by Server keys and admins, read by developers,
per environment; their delivery logs, test events and "send again"."""

import uuid

import jsonschema
import pytest

from environments.webhooks.models import Attempt, Delivery, Event, Subscription
from environments.webhooks.services import (
    subscription_create,
    subscription_secret,
    subscription_update,
    webhook_event_record,
)
from environments.webhooks.tasks import deliveries_send_due
from tests.domains.conftest import member_client
from tests.webhooks.conftest import HOOK_URL

pytestmark = pytest.mark.django_db

LIST = "/api/v1/webhooks/"


def detail(subscription_id, tail: str = "") -> str:
    return f"/api/v1/webhooks/{subscription_id}{tail}"


def assert_documented(ours, instance, schema_name: str, many: bool = False) -> None:
    """The body validates against our served document, as a generated client would check."""
    target = {"$ref": f"#/components/schemas/{schema_name}"}
    if many:
        target = {"type": "array", "items": target}
    jsonschema.Draft202012Validator(
        {**target, "components": ours["components"]},
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    ).validate(instance)


# (method, path template, payload) for every operation; {id} and {delivery} are filled in.
READS = [
    ("get", LIST, None),
    ("get", "/api/v1/webhooks/{id}", None),
    ("get", "/api/v1/webhooks/{id}/deliveries", None),
]
WRITES = [
    ("post", LIST, {"url": HOOK_URL}),
    ("patch", "/api/v1/webhooks/{id}", {"enabled": False}),
    ("delete", "/api/v1/webhooks/{id}", None),
    ("post", "/api/v1/webhooks/{id}/rotate_secret", None),
    ("post", "/api/v1/webhooks/{id}/test", None),
    ("post", "/api/v1/webhooks/{id}/deliveries/{delivery}/send_again", None),
]


def call(client, method, path, payload, delivery):
    url = path.format(id=delivery.subscription_id, delivery=delivery.pk)
    return getattr(client, method)(url, payload, format="json")


# --- managing subscriptions ------------------------------------------------------------


def test_creating_a_subscription_answers_201_with_its_secret_this_once(owner, ours):
    response = owner.server.post(
        LIST, {"url": HOOK_URL, "events": ["image.ready", "file.uploaded"]}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert_documented(ours, body, "WebhookSubscriptionSecretSchema")
    assert body["secret"].startswith("whsec_")
    assert body["events"] == ["image.ready", "file.uploaded"]
    assert body["format"] == "standard" and body["enabled"] is True
    assert body["environment_id"] == str(owner.environment.id)
    subscription = Subscription.objects.get(pk=body["id"])
    assert subscription_secret(subscription) == body["secret"]
    for url in (LIST, detail(body["id"])):
        read = owner.server.get(url)
        assert read.status_code == 200
        assert body["secret"].encode() not in read.content and b"secret" not in read.content


def test_a_subscription_is_read_listed_updated_and_deleted(owner, existing, ours):
    got = owner.server.get(detail(existing.pk))
    assert got.status_code == 200
    assert_documented(ours, got.json(), "WebhookSubscriptionSchema")
    listed = owner.server.get(LIST)
    assert [s["id"] for s in listed.json()] == [str(existing.pk)]
    assert_documented(ours, listed.json(), "WebhookSubscriptionSchema", many=True)

    patched = owner.server.patch(
        detail(existing.pk),
        {
            "url": "https://other.example.com/in",
            "events": ["file.deleted"],
            "format": "uploadcare",
            "enabled": False,
        },
        format="json",
    )
    assert patched.status_code == 200, patched.content
    assert_documented(ours, patched.json(), "WebhookSubscriptionSchema")
    existing.refresh_from_db()
    assert (existing.url, existing.events, existing.format, existing.enabled) == (
        "https://other.example.com/in",
        ["file.deleted"],
        "uploadcare",
        False,
    )

    deleted = owner.server.delete(detail(existing.pk))
    assert deleted.status_code == 200
    assert deleted.json() == {"id": str(existing.pk), "status": "deleted"}
    assert owner.server.get(detail(existing.pk)).status_code == 404
    assert not Subscription.objects.exists()


def test_a_patch_changes_only_the_fields_it_sends(owner, existing):
    subscription_update(subscription=existing, events=["image.deleted"])
    response = owner.server.patch(detail(existing.pk), {}, format="json")
    assert response.status_code == 200
    assert response.json()["events"] == ["image.deleted"] and response.json()["url"] == HOOK_URL
    response = owner.server.patch(detail(existing.pk), {"events": []}, format="json")
    assert response.json()["events"] == [] and response.json()["url"] == HOOK_URL


def test_enabling_a_disabled_subscription_again_clears_why_it_was_disabled(owner, existing):
    Subscription.objects.filter(pk=existing.pk).update(
        enabled=False, disabled_reason="Deliveries failed for 3 days without a success."
    )
    response = owner.server.patch(detail(existing.pk), {"enabled": True}, format="json")
    assert response.status_code == 200
    assert response.json()["enabled"] is True and response.json()["disabled_reason"] == ""


def test_repeated_event_types_are_kept_once(owner):
    response = owner.server.post(
        LIST, {"url": HOOK_URL, "events": ["image.ready", "image.ready"]}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["events"] == ["image.ready"]


def test_rotating_the_secret_answers_a_new_one_that_signs_from_now_on(owner, existing, ours):
    before = subscription_secret(existing)
    response = owner.server.post(detail(existing.pk, "/rotate_secret"))
    assert response.status_code == 200, response.content
    assert_documented(ours, response.json(), "WebhookSubscriptionSecretSchema")
    secret = response.json()["secret"]
    assert secret.startswith("whsec_") and secret != before
    existing.refresh_from_db()
    assert subscription_secret(existing) == secret


def test_the_list_pages_like_the_image_list(owner):
    for n in range(3):
        subscription_create(environment=owner.environment, url=f"{HOOK_URL}/{n}")
    response = owner.server.get(LIST, {"page": 2, "limit": 2})
    assert response.status_code == 200
    assert [s["url"] for s in response.json()] == [f"{HOOK_URL}/0"]  # newest first
    assert (response["X-Total-Count"], response["X-Page"], response["X-Limit"]) == ("3", "2", "2")
    assert (response["X-Prev-Page"], response["X-Next-Page"]) == ("1", "null")


def test_listing_subscriptions_costs_a_fixed_number_of_queries(owner, django_assert_num_queries):
    for n in range(5):
        subscription_create(environment=owner.environment, url=f"{HOOK_URL}/{n}")
    owner.server.get(LIST)  # the key's first use writes last_used_at
    with django_assert_num_queries(3):  # the key, the count, the page
        assert len(owner.server.get(LIST).json()) == 5


# --- test events, the delivery log, send again -------------------------------------------


def test_a_test_event_is_queued_for_the_subscription(
    owner, existing, ours, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = owner.server.post(detail(existing.pk, "/test"))
    assert response.status_code == 202, response.content
    assert_documented(ours, response.json(), "WebhookDeliverySchema")
    assert response.json()["type"] == "webhook.test" and response.json()["status"] == "pending"
    assert len(callbacks) == 1  # the send, once the rows are committed
    event = Event.objects.get(pk=response.json()["event_id"])
    assert event.type == "webhook.test" and event.deliveries.get().subscription == existing


def test_a_disabled_subscription_can_still_be_sent_a_test_event(owner, existing):
    subscription_update(subscription=existing, enabled=False)
    assert owner.server.post(detail(existing.pk, "/test")).status_code == 202


def test_the_delivery_log_shows_each_attempt(owner, receiver, loopback_allowed, ours):
    subscription, _ = subscription_create(environment=owner.environment, url=receiver.url())
    receiver.statuses = [500, 200]
    event = webhook_event_record(
        environment=owner.environment, type="image.ready", payload={"id": "img_1"}
    )
    deliveries_send_due()
    delivery = Delivery.objects.get()
    deliveries_send_due(now=delivery.next_attempt_at)

    response = owner.server.get(detail(subscription.pk, "/deliveries"))
    assert response.status_code == 200, response.content
    assert_documented(ours, response.json(), "WebhookDeliverySchema", many=True)
    (row,) = response.json()
    assert (row["event_id"], row["type"], row["status"], row["attempts"]) == (
        event.id,
        "image.ready",
        "delivered",
        2,
    )
    assert row["next_attempt_at"] is None
    assert [a["status_code"] for a in row["attempt_log"]] == [500, 200]
    assert all(a["latency_ms"] >= 0 and a["response_excerpt"] == "ok" for a in row["attempt_log"])
    assert response["X-Total-Count"] == "1"


def test_a_pending_delivery_says_when_it_is_tried_next_and_why_it_failed(owner, delivery):
    # hooks.example.com does not resolve here: the attempt records the error, no status.
    Attempt.objects.create(
        delivery=delivery, at=delivery.next_attempt_at, latency_ms=3, error="SourceConnectionError"
    )
    (row,) = owner.server.get(detail(delivery.subscription_id, "/deliveries")).json()
    assert row["status"] == "pending" and row["next_attempt_at"] is not None
    assert row["attempt_log"][0]["status_code"] is None
    assert row["attempt_log"][0]["error"] == "SourceConnectionError"


def test_listing_deliveries_costs_a_fixed_number_of_queries(
    owner, existing, django_assert_num_queries
):
    for n in range(4):
        webhook_event_record(
            environment=owner.environment, type="image.ready", payload={"id": f"img_{n}"}
        )
    for delivery in Delivery.objects.all():
        for _ in range(3):
            Attempt.objects.create(
                delivery=delivery, at=delivery.next_attempt_at, status_code=500, latency_ms=1
            )
    owner.server.get(LIST)  # the key's first use writes last_used_at
    # The key, the subscription, the count, the page with its events, the attempts.
    with django_assert_num_queries(5):
        response = owner.server.get(detail(existing.pk, "/deliveries"))
    assert len(response.json()) == 4
    assert all(len(row["attempt_log"]) == 3 for row in response.json())


def test_send_again_makes_a_finished_delivery_due_now(
    owner, delivery, ours, django_capture_on_commit_callbacks
):
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.FAILED)
    with django_capture_on_commit_callbacks() as callbacks:
        response = owner.server.post(
            detail(delivery.subscription_id, f"/deliveries/{delivery.pk}/send_again")
        )
    assert response.status_code == 202, response.content
    assert_documented(ours, response.json(), "WebhookDeliverySchema")
    assert response.json()["status"] == "pending" and response.json()["id"] == str(delivery.pk)
    assert len(callbacks) == 1
    delivery.refresh_from_db()
    assert delivery.status == Delivery.PENDING


def test_send_again_to_a_disabled_subscription_answers_409(owner, delivery):
    Subscription.objects.filter(pk=delivery.subscription_id).update(enabled=False)
    response = owner.server.post(
        detail(delivery.subscription_id, f"/deliveries/{delivery.pk}/send_again")
    )
    assert response.status_code == 409
    assert response.json()["error_type"] == "ConflictError"


def test_a_delivery_of_another_subscription_answers_404(owner, delivery):
    other, _ = subscription_create(environment=owner.environment, url=f"{HOOK_URL}/other")
    response = owner.server.post(detail(other.pk, f"/deliveries/{delivery.pk}/send_again"))
    assert response.status_code == 404
    assert response.json()["error_type"] == "ResourceNotFoundError"


# --- tenancy and credentials ---------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "payload"), READS[1:] + WRITES[1:])
def test_another_environments_subscription_answers_404_exactly_like_an_unknown_id(
    owner, outsider, delivery, method, path, payload
):
    theirs = call(outsider.server, method, path, payload, delivery)
    unknown_id = uuid.uuid4()
    missing = getattr(outsider.server, method)(
        path.format(id=unknown_id, delivery=delivery.pk), payload, format="json"
    )
    assert theirs.status_code == missing.status_code == 404
    expected = "Webhook subscription {} was not found in this environment."
    assert theirs.json() == {
        "detail": expected.format(delivery.subscription_id),
        "error_type": "ResourceNotFoundError",
    }
    assert missing.json() == {
        "detail": expected.format(unknown_id),
        "error_type": "ResourceNotFoundError",
    }
    subscription = Subscription.objects.get(pk=delivery.subscription_id)
    assert subscription.enabled and subscription.url == HOOK_URL
    assert Event.objects.count() == 1  # no test event was sent to it


def test_another_environments_subscriptions_are_not_listed(owner, outsider, existing):
    response = outsider.server.get(LIST)
    assert response.status_code == 200 and response.json() == []


@pytest.mark.parametrize(("method", "path", "payload"), READS + WRITES)
def test_a_client_key_is_refused_like_on_every_server_only_operation(
    owner, delivery, method, path, payload
):
    response = call(owner.browser, method, path, payload, delivery)
    assert response.status_code == 403
    assert response.json()["error_type"] == "OperationNotAllowedError"
    assert Subscription.objects.count() == 1 and Subscription.objects.get().enabled
    assert Event.objects.count() == 1


@pytest.mark.parametrize(("method", "path", "payload"), READS + WRITES)
def test_no_key_answers_401(owner, delivery, method, path, payload):
    response = call(owner.client(), method, path, payload, delivery)
    assert response.status_code == 401
    assert response.json()["error_type"] == "InvalidTokenError"


@pytest.mark.parametrize(("method", "path", "payload"), READS)
def test_a_developer_member_reads_subscriptions_and_their_logs(
    owner, developer, delivery, method, path, payload
):
    response = call(member_client(owner, developer), method, path, payload, delivery)
    assert response.status_code == 200
    assert b"whsec_" not in response.content


@pytest.mark.parametrize(("method", "path", "payload"), WRITES)
def test_a_developer_member_cannot_change_subscriptions(
    owner, developer, delivery, method, path, payload
):
    response = call(member_client(owner, developer), method, path, payload, delivery)
    assert response.status_code == 403
    assert response.json()["error_type"] == "OperationNotAllowedError"
    assert Subscription.objects.count() == 1 and Subscription.objects.get().enabled


@pytest.mark.parametrize(("method", "path", "payload"), READS + WRITES)
def test_an_owner_member_manages_subscriptions_from_the_dashboard_session(
    owner, delivery, method, path, payload
):
    response = call(member_client(owner, owner.user), method, path, payload, delivery)
    assert response.status_code in (200, 201, 202), response.content


# --- the OpenAPI document ----------------------------------------------------------------

OPERATIONS = {
    ("/api/v1/webhooks/", "get"): {"200"},
    ("/api/v1/webhooks/", "post"): {"201", "409", "413"},
    ("/api/v1/webhooks/{webhook_id}", "get"): {"200", "404"},
    ("/api/v1/webhooks/{webhook_id}", "patch"): {"200", "404", "413"},
    ("/api/v1/webhooks/{webhook_id}", "delete"): {"200", "404"},
    ("/api/v1/webhooks/{webhook_id}/rotate_secret", "post"): {"200", "404"},
    ("/api/v1/webhooks/{webhook_id}/test", "post"): {"202", "404"},
    ("/api/v1/webhooks/{webhook_id}/deliveries", "get"): {"200", "404"},
    ("/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/send_again", "post"): {
        "202",
        "404",
        "409",
    },
}


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_every_webhook_operation_documents_each_status_it_answers_with_a_body(ours, path, method):
    operation = ours["paths"][path][method]
    responses = operation["responses"]
    assert set(responses) == {"400", "401", "403", "406", "422"} | OPERATIONS[(path, method)]
    for response in responses.values():
        assert response["content"]["application/json"]["schema"]
    assert operation["x-codegen-sdk-auth"] == "server_key"
    assert operation["tags"] == ["Webhooks"]


def test_the_document_shows_the_secret_only_in_the_answers_that_carry_it(ours):
    schemas = ours["components"]["schemas"]
    assert "secret" not in schemas["WebhookSubscriptionSchema"]["properties"]
    assert "secret" in schemas["WebhookSubscriptionSecretSchema"]["properties"]
    created = ours["paths"]["/api/v1/webhooks/"]["post"]["responses"]["201"]
    assert created["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/WebhookSubscriptionSecretSchema"
    }


def test_the_document_lists_the_event_types_one_may_subscribe_to(ours):
    from environments.webhooks.events import SUBSCRIBABLE_TYPES

    assert ours["components"]["schemas"]["WebhookEventType"]["enum"] == list(SUBSCRIBABLE_TYPES)


def test_an_environment_holds_at_most_twenty_subscriptions(owner):
    from environments.webhooks.services import MAX_SUBSCRIPTIONS

    for n in range(MAX_SUBSCRIPTIONS):
        created = owner.server.post(LIST, {"url": f"https://h{n}.example.com/"}, format="json")
        assert created.status_code == 201
    refused = owner.server.post(LIST, {"url": "https://one-more.example.com/"}, format="json")
    assert refused.status_code == 409 and "at most 20" in refused.json()["detail"]
    assert Subscription.objects.filter(environment=owner.environment).count() == MAX_SUBSCRIPTIONS
