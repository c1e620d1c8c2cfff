"""Building the signed request for a delivery: Standard Webhooks, or Uploadcare's format.

Standard Webhooks (https://www.standardwebhooks.com/): ``webhook-id`` (the event id, the
same on every retry, for deduplication), ``webhook-timestamp`` and ``webhook-signature``,
signed by the specification's reference library. Uploadcare: the ``{hook, data, initiator,
file}`` body its webhooks send, signed ``X-Uc-Signature: v1=<hex HMAC-SHA256 of the body>``
with the subscription's secret, as Uploadcare signs with the secret set on a webhook.
"""

import hashlib
import hmac
import json

from standardwebhooks.webhooks import Webhook

from .services import subscription_secret


def _uploadcare_body(event, subscription) -> dict:
    data = event.payload
    return {
        "hook": {
            "id": str(subscription.pk),
            "project_id": str(subscription.environment_id),
            "target": subscription.url,
            "event": event.type,
            "is_active": subscription.enabled,
            "version": "0.7",
            "created_at": subscription.created_at.isoformat(),
            "updated_at": subscription.created_at.isoformat(),
        },
        "data": data,
        "initiator": {"type": "api", "detail": {"request_id": event.id}},
        "file": data.get("url") if isinstance(data, dict) else None,
    }


def signed_request(delivery, now) -> tuple[bytes, dict]:
    event, subscription = delivery.event, delivery.subscription
    secret = subscription_secret(subscription)
    if subscription.format == "uploadcare":
        body = json.dumps(_uploadcare_body(event, subscription), separators=(",", ":")).encode()
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return body, {"X-Uc-Signature": f"v1={digest}"}
    body = json.dumps(
        {"type": event.type, "timestamp": event.created_at.isoformat(), "data": event.payload},
        separators=(",", ":"),
    ).encode()
    signature = Webhook(secret).sign(event.id, now, body.decode())
    return body, {
        "webhook-id": event.id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature,
    }
