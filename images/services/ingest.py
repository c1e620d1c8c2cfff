"""Receiving the bytes of a standard upload through its signed upload URL."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from environments.upload_quota import upload_slot_release
from images.models import Image, ImageStatus
from images.services.leases import holder_is_gone, lease_deadline, lease_holder, lease_kept
from images.storage import CountingReader, StreamTooLong, delete_object, save_stream
from imgwire_site import domain
from imgwire_site.domain import Refusal
from imgwire_site.tasks import enqueue_on_commit

logger = logging.getLogger(__name__)


def image_record_bytes(image_id, *, size: int, digest: str | None = None) -> bool:
    """Record that an image's bytes are in storage and enqueue its processing, once."""
    fields = {"bytes_received_at": timezone.now(), "size_bytes": size}
    if digest:
        fields["hash_sha256"] = digest
    with transaction.atomic():
        updated = (
            Image.objects.alive()
            .filter(id=image_id, status=ImageStatus.PENDING, bytes_received_at__isnull=True)
            .update(**fields)
        )
        if updated:
            from images.tasks import process_image

            enqueue_on_commit(process_image, str(image_id))
    return bool(updated)


@transaction.atomic
def image_discard_unreceived(image: Image) -> None:
    """Remove a record whose bytes never arrived (a failed fetch or upload in the same
    request); its upload slot is given back (docs/quotas.md)."""
    if Image.objects.filter(id=image.id, bytes_received_at__isnull=True).delete()[0]:
        upload_slot_release(
            organization_id=image.environment.organization_id, created_at=image.created_at
        )


def _check_request(claims: dict | None, content_type: str, content_length: str | None) -> int:
    if claims is None:
        raise Refusal(
            domain.SIGNATURE_INVALID,
            "The upload URL signature is invalid; use the upload_url exactly as returned.",
        )
    if claims.get("expired"):
        raise Refusal(
            domain.SIGNATURE_EXPIRED,
            "The upload URL has expired; create a new upload with standard_upload "
            "(the same idempotency_key returns the same image with a fresh upload_url).",
        )
    declared_type = claims["t"]
    if content_type.split(";", 1)[0].strip().lower() != declared_type:
        raise Refusal(
            domain.CONTENT_TYPE_MISMATCH,
            f"Content-Type must be {declared_type}, the mime_type this upload was created "
            f"with (got {content_type or 'none'}).",
        )
    if not content_length or not content_length.isdigit():
        raise Refusal(
            domain.LENGTH_REQUIRED,
            "Send a Content-Length header with the exact size of the file in bytes.",
        )
    length = int(content_length)
    limit = int(claims["n"])
    if claims.get("x") and length != limit:
        raise Refusal(
            domain.LENGTH_OVER_DECLARED if length > limit else domain.LENGTH_UNDER_DECLARED,
            f"Content-Length {length} does not match the content_length declared for this "
            f"upload ({limit}).",
            limit=limit,
        )
    if length > limit:
        raise Refusal(
            domain.TOO_LARGE,
            f"Content-Length {length} exceeds the maximum size for this upload ({limit} bytes).",
            limit=limit,
        )
    if length == 0:
        raise Refusal(domain.EMPTY, "The upload body is empty.")
    return length


def _claim_for_ingest(image_id) -> Image | None:
    """Take the right to write this image's bytes. One PUT at a time; a PUT that fails
    releases it, and one whose process died stops renewing its lease, so a retry succeeds
    once the lease lapses (at once when the dead process was on this machine)."""
    now = timezone.now()
    lapse = now - timedelta(seconds=settings.IMGWIRE_UPLOAD_URL_TTL_SECONDS)
    claim = {"ingest_started_at": now, "lease_expires_at": lease_deadline(now)}
    claim["lease_holder"] = lease_holder()
    unreceived = Image.objects.alive().filter(
        id=image_id, status=ImageStatus.PENDING, bytes_received_at__isnull=True
    )
    claimed = unreceived.filter(
        Q(ingest_started_at__isnull=True)
        | Q(lease_expires_at__lt=now)
        | Q(lease_expires_at=None, ingest_started_at__lt=lapse)
    ).update(**claim)
    if claimed != 1:
        held = next(iter(unreceived.values_list("lease_holder", "ingest_started_at")), None)
        if held is None or not holder_is_gone(held[0]):
            return None
        claimed = unreceived.filter(lease_holder=held[0], ingest_started_at=held[1]).update(**claim)
        if claimed != 1:
            return None
    return Image.objects.get(id=image_id)


def _release(image: Image) -> None:
    Image.objects.filter(id=image.id, bytes_received_at__isnull=True).update(ingest_started_at=None)


def image_receive_upload(
    *, image_id, claims: dict | None, content_type: str, content_length: str | None, stream
) -> Image:
    length = _check_request(claims, content_type, content_length)
    image = _claim_for_ingest(image_id)
    if image is None:
        raise Refusal(
            domain.CONFLICT,
            "This upload URL has already been used (or an upload to it is in progress); "
            "each upload_url accepts one PUT.",
        )
    return _store_claimed(image, stream, length)


def image_store_new_upload(*, image: Image, stream, length: int) -> Image:
    """The bytes of an upload whose request carries them itself (Uploadcare's ``base/``),
    stored and checked exactly as a PUT to its upload_url would be."""
    claimed = _claim_for_ingest(image.id)
    if claimed is None:
        raise Refusal(domain.CONFLICT, "This upload already received its bytes.")
    return _store_claimed(claimed, stream, length)


def _store_claimed(image: Image, stream, length: int) -> Image:
    # The lease is renewed while the bytes stream in (a slow client may take minutes).
    claim = {"ingest_started_at": image.ingest_started_at, "bytes_received_at__isnull": True}
    with lease_kept(Image, image.id, **claim):
        return _store_claimed_bytes(image, stream, length)


def _store_claimed_bytes(image: Image, stream, length: int) -> Image:
    reader = CountingReader(stream, limit=length)
    try:
        save_stream(image.incoming_key, reader, length)
    except StreamTooLong:
        delete_object(image.incoming_key)
        _release(image)
        raise Refusal(
            domain.TOO_LARGE, f"The body is longer than Content-Length ({length}).", limit=length
        ) from None
    except Exception:
        logger.exception("storing upload %s failed", image.id)
        delete_object(image.incoming_key)
        _release(image)
        raise Refusal(
            domain.UPLOAD_INTERRUPTED,
            "The upload could not be stored (the connection may have dropped); PUT it again.",
        ) from None
    if reader.count != length:
        delete_object(image.incoming_key)
        _release(image)
        raise Refusal(
            domain.UPLOAD_INTERRUPTED,
            f"Received {reader.count} bytes but Content-Length said {length}; PUT it again.",
        )
    digest = reader.sha256.hexdigest()
    if image.declared_sha256 and image.declared_sha256.lower() != digest:
        delete_object(image.incoming_key)
        _release(image)
        raise Refusal(
            domain.HASH_MISMATCH,
            f"The bytes hash to sha256 {digest}, not the hash_sha256 declared for this upload.",
        )
    updated = image_record_bytes(image.id, size=reader.count, digest=digest)
    if not updated:
        # Deleted while uploading: nothing should keep its bytes.
        delete_object(image.incoming_key)
        raise Refusal(domain.NOT_FOUND, "This upload no longer exists.")
    image.refresh_from_db()
    return image
