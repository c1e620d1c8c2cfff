"""Verifying uploaded bytes and moving them to their permanent key (PENDING → READY)."""

import contextlib
import hashlib
import logging
import tempfile
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from environments.webhooks.events import IMAGE_QUARANTINED, IMAGE_READY, image_event_emit
from images.models import Image, ImageStatus
from images.processing.sandbox import SandboxError, inspect_image
from images.services.leases import holder_is_gone, lease_deadline, lease_holder, lease_kept
from images.storage import delete_object, open_stream, save_file
from imgwire_site.tasks import enqueue_on_commit

logger = logging.getLogger(__name__)
COPY_CHUNK = 1024 * 1024


def _claim(image_id) -> Image | None:
    """PENDING (or PROCESSING whose lease lapsed: a dead worker) → PROCESSING, atomically.

    Two workers handed the same message both run this UPDATE; only one changes a row. The
    claim's lease is renewed while the work runs (image_process), so a live worker's image
    is never taken over; a dead one's is, within a lease (at once on the same machine).
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.IMGWIRE_PROCESSING_STALE_SECONDS)
    claim = {
        "status": ImageStatus.PROCESSING,
        "processing_started_at": now,
        "processing_attempts": F("processing_attempts") + 1,
        "lease_expires_at": lease_deadline(now),
        "lease_holder": lease_holder(),
        "updated_at": now,
    }
    candidates = Image.objects.alive().filter(id=image_id, bytes_received_at__isnull=False)
    claimed = candidates.filter(
        Q(status=ImageStatus.PENDING)
        | Q(status=ImageStatus.PROCESSING, lease_expires_at__lt=now)
        # Claimed before leases existed: the fixed stale deadline still applies.
        | Q(status=ImageStatus.PROCESSING, lease_expires_at=None, processing_started_at__lt=stale)
    ).update(**claim)
    if claimed != 1:
        held = candidates.filter(status=ImageStatus.PROCESSING).values_list(
            "lease_holder", "processing_started_at"
        )
        holder = next(iter(held), None)
        if holder is None or not holder_is_gone(holder[0]):
            return None
        claimed = candidates.filter(
            status=ImageStatus.PROCESSING, lease_holder=holder[0], processing_started_at=holder[1]
        ).update(**claim)
        if claimed != 1:
            return None
    return Image.objects.get(id=image_id)


def _finish(image: Image, **fields) -> bool:
    """Write the outcome only if our claim still stands and the image was not deleted."""
    fields.setdefault("updated_at", timezone.now())
    return (
        Image.objects.alive()
        .filter(
            id=image.id,
            status=ImageStatus.PROCESSING,
            processing_started_at=image.processing_started_at,
        )
        .update(**fields)
        == 1
    )


def _finish_and_tell(image: Image, event: str, **fields) -> bool:
    """``_finish``, with the webhook event in the same transaction (the outbox). A staging
    upload (an overwrite) is not a file of its own: the promotion tells instead."""
    with transaction.atomic():
        done = _finish(image, **fields)
        if done and image.replaces_id is None:
            image_event_emit(image, event)
    return done


def image_quarantine(image: Image, reason: str) -> bool:
    logger.info("image %s quarantined: %s", image.id, reason)
    done = _finish_and_tell(
        image,
        IMAGE_QUARANTINED,
        status=ImageStatus.QUARANTINE,
        status_reason=reason[:500],
        processed_metadata_at=timezone.now(),
    )
    # Quarantined bytes are never delivered, so they are not kept either.
    delete_object(image.incoming_key)
    return done


def _copy_to_temp(image: Image, tmp) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    source, _ = open_stream(image.incoming_key)
    with contextlib.closing(source):
        while chunk := source.read(COPY_CHUNK):
            tmp.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    tmp.flush()
    return size, digest.hexdigest()


def image_process(image_id) -> None:
    """Idempotent: a second run, or a run for a deleted image, changes nothing."""
    image = _claim(image_id)
    if image is None:
        return
    claim = {"status": ImageStatus.PROCESSING, "processing_started_at": image.processing_started_at}
    with lease_kept(Image, image.id, **claim):
        _process_claimed(image)


def _process_claimed(image: Image) -> None:
    if image.processing_attempts > settings.IMGWIRE_PROCESSING_MAX_ATTEMPTS:
        image_quarantine(
            image,
            f"Processing was interrupted {image.processing_attempts - 1} times; the file "
            "cannot be processed safely.",
        )
        return
    with tempfile.NamedTemporaryFile(prefix="imgwire-", suffix=".upload") as tmp:
        try:
            size, digest = _copy_to_temp(image, tmp)
        except FileNotFoundError:
            image_quarantine(image, "The uploaded bytes are missing from storage.")
            return
        if image.declared_content_length is not None and size != image.declared_content_length:
            image_quarantine(
                image,
                f"The stored file has {size} bytes, not the declared content_length "
                f"({image.declared_content_length}).",
            )
            return
        if image.declared_sha256 and image.declared_sha256.lower() != digest:
            image_quarantine(image, f"The bytes hash to {digest}, not the declared hash_sha256.")
            return
        try:
            inspection = inspect_image(
                tmp.name,
                image.mime_type,
                max_pixels=settings.IMGWIRE_MAX_PIXELS,
                memory_bytes=settings.IMGWIRE_DECODE_MEMORY_BYTES,
                timeout_seconds=settings.IMGWIRE_DECODE_TIMEOUT_SECONDS,
            )
        except SandboxError:
            # The machine, not the file, is at fault: hand the image back to PENDING and let
            # the broker (or the reconciler, past its retries) try again, rather than
            # quarantining good uploads. The claim's attempt is given back too: the cap is
            # for files that kill their worker, and an outage of the sandbox longer than
            # the cap must not turn into "interrupted N times" and drop the bytes.
            _finish(
                image,
                status=ImageStatus.PENDING,
                processing_attempts=F("processing_attempts") - 1,
            )
            raise
        if not inspection.ok:
            image_quarantine(image, inspection.reason or "The file could not be decoded.")
            return
        tmp.seek(0)
        save_file(image.original_key, tmp)

    ready = _finish_and_tell(
        image,
        IMAGE_READY,
        status=ImageStatus.READY,
        status_reason="",
        width=inspection.width,
        height=inspection.height,
        frames=inspection.frames,
        is_animated=inspection.is_animated,
        has_alpha=inspection.has_alpha,
        orientation=inspection.orientation,
        exif_data=inspection.exif,
        size_bytes=size,
        hash_sha256=digest,
        processed_metadata_at=timezone.now(),
    )
    if ready:
        delete_object(image.incoming_key)
        if image.replaces_id is not None:
            # An overwrite: the verified bytes become the next version of that file.
            from images.services.versions import image_version_promote_soon

            image_version_promote_soon(image.id)
    elif not Image.objects.alive().filter(id=image.id).exists():
        # Deleted while we worked: the purge may already have run, so clean up after it.
        delete_object(image.original_key)
        delete_object(image.incoming_key)


class ReprocessRefused(Exception):
    pass


def image_reprocess(image_id) -> None:
    """Run verification again (an operator's action, e.g. after a decoder upgrade).

    READY images are re-verified from their stored original; images stuck in PENDING with
    bytes or in PROCESSING are handed back to the queue. Quarantined bytes are not kept, so
    a QUARANTINE image cannot be re-processed: the uploader must upload it again.
    """
    from images.tasks import process_image

    image = Image.objects.alive().filter(id=image_id).first()
    if image is None:
        raise ReprocessRefused("the image was deleted")
    if image.status == ImageStatus.QUARANTINE:
        raise ReprocessRefused("quarantined bytes are not kept; upload the file again")
    if image.status == ImageStatus.PENDING and image.bytes_received_at is None:
        raise ReprocessRefused("no bytes have been uploaded yet")
    if image.status == ImageStatus.READY:
        source, _ = open_stream(image.original_key)
        with contextlib.closing(source):
            save_file(image.incoming_key, source)
    now = timezone.now()
    Image.objects.filter(id=image.id, status=image.status).update(
        status=ImageStatus.PENDING,
        processing_started_at=None,
        processing_attempts=0,
        bytes_received_at=image.bytes_received_at or now,
        updated_at=now,
    )
    enqueue_on_commit(process_image, str(image.id))
