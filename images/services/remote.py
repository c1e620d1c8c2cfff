"""upload_via_url: fetch a remote image inside the request, then process it like any upload.

The fetch is bounded by IMGWIRE_URL_FETCH_TIMEOUT_SECONDS in total, so a failing source is
answered at once with a specific error_type instead of leaving a record behind.
"""

import io
import posixpath

from django.conf import settings
from django.db import IntegrityError, transaction

from environments.quotas import check_upload_allowed
from environments.upload_quota import upload_slot_reserve
from images.models import Image
from images.processing.formats import EXTENSION_TO_MIME, MIME_TO_EXTENSION, sniff_mime
from images.remote import FetchError, FetchLimits, open_remote
from images.services.ingest import image_discard_unreceived, image_record_bytes
from images.services.library import (
    LibraryRequest,
    library_file,
    library_place,
    path_taken,
    placement_fields,
)
from images.services.uploads import (
    PLAN_REFUSALS,
    existing_for_idempotency_key,
    request_fingerprint,
)
from images.storage import CountingReader, StreamTooLong, delete_object, save_stream
from imgwire_site import domain
from imgwire_site.domain import Refusal
from keys.authentication import Access

SNIFF_BYTES = 64


def _limits() -> FetchLimits:
    return FetchLimits(
        max_bytes=settings.IMGWIRE_URL_FETCH_MAX_BYTES,
        header_timeout=settings.IMGWIRE_URL_FETCH_HEADER_TIMEOUT_SECONDS,
        total_deadline=settings.IMGWIRE_URL_FETCH_TIMEOUT_SECONDS,
        max_redirects=5,
        allowed_networks=settings.IMGWIRE_URL_FETCH_ALLOWED_NETWORKS,
    )


class _Prefixed(io.RawIOBase):
    """The sniffed head followed by the rest of the remote body."""

    def __init__(self, head: bytes, body):
        self.head, self.body = head, body

    def read(self, size=-1):
        if self.head:
            chunk, self.head = self.head[:size] if size > 0 else self.head, b""
            if size > 0 and len(chunk) < size:
                return chunk + self.body.read(size - len(chunk))
            return chunk
        return self.body.read(size)


def _fetch_failed(error: FetchError, *, limit: int | None = None) -> Refusal:
    """The fetcher's failure kind travels as the refusal's ``reason``, for each edge's table."""
    return Refusal(domain.FETCH_FAILED, error.message, reason=error.error_type, limit=limit)


PROGRESS_STEP = 1024 * 1024


class _Reporting(io.RawIOBase):
    """Passes reads through, telling ``report`` the bytes read so far every PROGRESS_STEP."""

    def __init__(self, source, report, total: int | None):
        self.source, self.report, self.total = source, report, total
        self.done = self.reported = 0

    def read(self, size=-1):
        chunk = self.source.read(size)
        self.done += len(chunk)
        if self.done - self.reported >= PROGRESS_STEP:
            self.reported = self.done
            self.report(self.done, self.total)
        return chunk


def _name_and_type(body, head: bytes, file_name: str | None, mime_type: str | None):
    """Caller's values first; otherwise the bytes, then the response, then the URL."""
    name = file_name or body.file_name or posixpath.basename(body.url.split("?")[0]) or "image"
    mime = mime_type or sniff_mime(head)
    if mime is None and body.content_type in MIME_TO_EXTENSION:
        mime = body.content_type
    if mime is None:
        mime = EXTENSION_TO_MIME.get(name.rsplit(".", 1)[-1].lower()) if "." in name else None
    if mime is None:
        raise Refusal(
            domain.NOT_AN_IMAGE,
            f"The source did not send an image (Content-Type {body.content_type or 'none'}, "
            "and the first bytes match no accepted format).",
        )
    if "." not in name.strip("."):
        name = f"{name}.{MIME_TO_EXTENSION[mime]}"
    return name[:255], mime


def _earlier_or_raise(access: Access, idempotency_key, fingerprint) -> Image:
    """Inside an ``except``: the image an earlier request with this idempotency_key made
    (it won a race), or the exception being handled, raised again."""
    existing = idempotency_key and existing_for_idempotency_key(
        access, idempotency_key, fingerprint
    )
    if not existing:
        raise  # the exception its caller is handling (it runs inside their except blocks)
    return existing


def image_create_from_url(
    *,
    access: Access,
    url: str,
    file_name: str | None = None,
    mime_type: str | None = None,
    idempotency_key: str | None = None,
    purpose: str | None = None,
    custom_metadata: dict | None = None,
    on_progress=None,
    library: LibraryRequest | None = None,
) -> Image:
    """``on_progress(done, total)``, when given, hears how far the body has come (every
    PROGRESS_STEP bytes; ``total`` is None when the source sent no Content-Length)."""
    fingerprint = request_fingerprint(
        {
            "url": url,
            "file_name": file_name,
            "mime_type": mime_type,
            "purpose": purpose,
            "custom_metadata": custom_metadata or {},
            **({"library": repr(library)} if library else {}),
        }
    )
    placement = library_place(access, library, file_name or "")
    if idempotency_key:
        existing = existing_for_idempotency_key(access, idempotency_key, fingerprint)
        if existing is not None:
            return existing
    try:
        check_upload_allowed(access.environment)
    except Refusal as refusal:
        if refusal.code not in PLAN_REFUSALS:
            raise
        # A parallel request with this idempotency_key may have just taken the last upload.
        return _earlier_or_raise(access, idempotency_key, fingerprint)
    try:
        body = open_remote(url, _limits())
    except FetchError as error:
        raise _fetch_failed(error) from None
    with body:
        try:
            head = body.read(SNIFF_BYTES)
        except FetchError as error:
            raise _fetch_failed(error) from None
        if not head:
            raise Refusal(domain.NOT_AN_IMAGE, "The source sent an empty body.")
        name, mime = _name_and_type(body, head, file_name, mime_type)
        try:
            with transaction.atomic():
                upload_slot_reserve(access.environment)
                image = Image.objects.create(
                    environment=access.environment,
                    created_by_key=access.key,
                    original_filename=name,
                    extension=MIME_TO_EXTENSION[mime],
                    mime_type=mime,
                    purpose=purpose,
                    custom_metadata=custom_metadata or {},
                    idempotency_key=idempotency_key,
                    request_fingerprint=fingerprint,
                    **placement_fields(placement),
                )
                library_file(image, placement)
        except (IntegrityError, Refusal) as error:
            if isinstance(error, Refusal) and error.code not in PLAN_REFUSALS:
                raise
            if isinstance(error, IntegrityError) and placement.claims_path and not idempotency_key:
                raise path_taken(placement) from None
            return _earlier_or_raise(access, idempotency_key, fingerprint)
        limit = settings.IMGWIRE_URL_FETCH_MAX_BYTES
        source = _Prefixed(head, body)
        if on_progress is not None:
            source = _Reporting(source, on_progress, body.content_length)
        reader = CountingReader(source, limit=limit)
        try:
            save_stream(image.incoming_key, reader, body.content_length or 0)
        except (FetchError, StreamTooLong) as error:
            delete_object(image.incoming_key)
            image_discard_unreceived(image)
            if isinstance(error, StreamTooLong):
                error = FetchError("TooLargeError", f"The image is larger than {limit} bytes.")
            raise _fetch_failed(
                error, limit=limit if error.error_type == "TooLargeError" else None
            ) from None
        except BaseException:
            delete_object(image.incoming_key)
            image_discard_unreceived(image)
            raise
    image_record_bytes(image.id, size=reader.count, digest=reader.sha256.hexdigest())
    image.refresh_from_db()
    image.environment = access.environment
    return image
