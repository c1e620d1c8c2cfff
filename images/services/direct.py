"""Direct-to-S3 uploads: the client PUTs to a presigned S3 URL; Imgwire learns the bytes
arrived from S3 event notifications or, whatever is configured, by polling for the object.
"""

import hmac
import logging
import re
from datetime import timedelta
from urllib.parse import unquote_plus

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone
from storages.utils import clean_name

from images.models import Image, ImageStatus
from images.services.ingest import image_record_bytes
from images.storage import object_exists

logger = logging.getLogger(__name__)
INCOMING_KEY = re.compile(r"(?:^|/)incoming/([0-9a-f-]{36})/([0-9a-f-]{36})$")
MAX_POLL_DELAY_SECONDS = 60


def direct_mode() -> bool:
    return settings.IMGWIRE_UPLOAD_MODE == "direct"


def presigned_put_url(image: Image) -> str:
    """A presigned PUT whose signature covers Content-Type and Content-Length, so S3 itself
    refuses another type or size."""
    storage = default_storage
    # django-storages' key mapping (its location prefix), so the URL names the same object
    # the storage API reads later.
    key = storage._normalize_name(clean_name(image.incoming_key))
    return storage.connection.meta.client.generate_presigned_url(
        "put_object",
        Params={
            "Bucket": storage.bucket.name,
            "Key": key,
            "ContentType": image.mime_type,
            "ContentLength": image.declared_content_length,
        },
        ExpiresIn=settings.IMGWIRE_UPLOAD_URL_TTL_SECONDS,
        HttpMethod="PUT",
    )


def image_mark_uploaded(image_id, environment_id=None) -> bool:
    """Record that the bytes are in storage and enqueue processing (once)."""
    images = Image.objects.alive().filter(
        id=image_id, status=ImageStatus.PENDING, bytes_received_at__isnull=True
    )
    if environment_id is not None:
        images = images.filter(environment_id=environment_id)
    image = images.first()
    if image is None or not object_exists(image.incoming_key):
        return False
    return image_record_bytes(image.id, size=default_storage.size(image.incoming_key))


def image_poll_direct_upload(image_id, attempt: int) -> None:
    """Check for the object with backoff until the upload URL expires."""
    image = (
        Image.objects.alive()
        .filter(id=image_id, status=ImageStatus.PENDING, bytes_received_at__isnull=True)
        .first()
    )
    if image is None or image_mark_uploaded(image.id):
        return
    expires = image.created_at + timedelta(seconds=settings.IMGWIRE_UPLOAD_URL_TTL_SECONDS)
    if timezone.now() > expires + timedelta(seconds=MAX_POLL_DELAY_SECONDS):
        return  # never uploaded: the reconciler expires the record later
    from images.tasks import poll_direct_upload

    delay = min(2**attempt, MAX_POLL_DELAY_SECONDS)
    poll_direct_upload.send_with_options(args=(str(image.id), attempt + 1), delay=delay * 1000)


def token_is_valid(presented: str) -> bool:
    expected = settings.IMGWIRE_S3_EVENTS_TOKEN
    if not expected:
        return False
    presented = presented.removeprefix("Bearer ").strip()
    return hmac.compare_digest(presented.encode(), expected.encode())


def s3_events_receive(payload) -> int:
    """Handle an AWS or MinIO event notification body; returns how many uploads completed.

    Records for other objects or event types are ignored: a bucket may notify about more
    than Imgwire's uploads.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("Records"), list):
        raise ValueError("the body must be an S3 event notification with a Records list")
    completed = 0
    for record in payload["Records"]:
        if not isinstance(record, dict):
            continue
        event = str(record.get("eventName", ""))
        if not event.removeprefix("s3:").startswith("ObjectCreated:"):
            continue
        key = unquote_plus(str(((record.get("s3") or {}).get("object") or {}).get("key", "")))
        match = INCOMING_KEY.search(key)
        if match and image_mark_uploaded(match.group(2), environment_id=match.group(1)):
            completed += 1
    return completed
