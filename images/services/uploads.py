"""Creating upload records and their signed upload URLs."""

import hashlib
import json
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import IntegrityError, transaction

from environments.quotas import check_upload_allowed
from environments.upload_quota import upload_slot_reserve
from images.models import Image
from images.processing.formats import EXTENSION_TO_MIME, MIME_TO_EXTENSION
from images.services.direct import direct_mode, presigned_put_url
from images.services.library import (
    LibraryRequest,
    library_file,
    library_place,
    path_taken,
    placement_fields,
)
from imgwire_site import domain
from imgwire_site.domain import Refusal
from imgwire_site.tasks import enqueue_on_commit
from keys.authentication import Access
from keys.models import (
    CLIENT_KEY_DEFAULT_PENDING_UPLOADS,
    MAX_UPLOAD_BYTES,
)
from keys.services import upload_token_consume

INGEST_SALT = "imgwire.ingest.v1"
# The plan's refusals (docs/quotas.md): a retry with an idempotency_key may still find its image.
PLAN_REFUSALS = (domain.QUOTA_EXCEEDED, domain.ACCOUNT_INACTIVE)


@dataclass(frozen=True)
class UploadRequest:
    file_name: str
    mime_type: str | None = None
    content_length: int | None = None
    hash_sha256: str | None = None
    idempotency_key: str | None = None
    purpose: str | None = None
    custom_metadata: dict | None = None
    # The library (images/services/library.py); every door may set these.
    tags: list[str] | None = None
    folder: str | None = None
    name: str | None = None  # the file name inside the folder; the upload's basename if None
    is_private: bool = False
    custom_coordinates: str | None = None
    # Make this upload the next version of that image once it is READY.
    replaces_id: str | None = None
    overwrite_tags: bool = True
    overwrite_custom_metadata: bool = True
    claims_path: bool = False

    def library(self) -> LibraryRequest:
        return LibraryRequest(
            **{name: getattr(self, name) for name in LibraryRequest.__dataclass_fields__}
        )


def _extension_of(file_name: str) -> str:
    base = file_name.replace("\\", "/").rsplit("/", 1)[-1]
    if "." not in base.strip(".") or base.endswith("."):
        raise Refusal(
            domain.INVALID_VALUE,
            "file_name must include a file extension, like photo.jpg",
            field="file_name",
        )
    return base.rsplit(".", 1)[-1].lower()


def _resolve_mime(request: UploadRequest) -> tuple[str, str]:
    """The MIME type (declared, else inferred from the extension) and its canonical extension."""
    extension = _extension_of(request.file_name)
    mime = request.mime_type or EXTENSION_TO_MIME.get(extension)
    if mime is None:
        raise Refusal(
            domain.FILE_TYPE_NOT_ACCEPTED,
            f"The extension .{extension} is not an accepted image type; send mime_type, or "
            f"use one of: {', '.join(sorted(EXTENSION_TO_MIME))}",
            field="file_name",
        )
    return mime, MIME_TO_EXTENSION[mime]


def _check_key_policy(access: Access, mime: str, content_length: int | None) -> int:
    """Apply the credential's upload policy; returns the byte limit for the upload."""
    key = access.key
    limit = key.effective_maximum_upload_bytes if key else MAX_UPLOAD_BYTES
    if key is not None and not key.is_server:
        allowed = key.allowed_mime_types
        if allowed is not None and mime not in allowed:
            raise Refusal(
                domain.FILE_TYPE_NOT_ACCEPTED,
                f"mime_type {mime} is not allowed for this Client Key "
                f"(allowed: {', '.join(allowed) or 'none'})",
                field="mime_type",
            )
    if content_length is not None and content_length > limit:
        raise Refusal(
            domain.TOO_LARGE,
            f"content_length {content_length} exceeds this "
            f"{'Client Key' if access.is_client_key else 'credential'}'s "
            f"maximum_upload_bytes ({limit})",
            field="content_length",
            limit=limit,
        )
    return limit


def _check_pending_cap(access: Access) -> None:
    key = access.key
    if key is None or key.is_server:
        return
    cap = key.maximum_pending_uploads or CLIENT_KEY_DEFAULT_PENDING_UPLOADS
    pending = Image.objects.pending_uploads().filter(created_by_key=key).count()
    if pending >= cap:
        raise Refusal(
            domain.RATE_LIMITED,
            f"This Client Key already has {pending} uploads waiting for their bytes "
            f"(maximum_pending_uploads is {cap}); finish or abandon some, then retry.",
            limit=cap,
            headers={"Retry-After": "60"},
        )


def request_fingerprint(fields: dict) -> str:
    """What "the same parameters" means for idempotency_key: a hash of the request."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


LIBRARY_DEFAULTS = {
    "tags": None,
    "folder": None,
    "name": None,
    "is_private": False,
    "custom_coordinates": None,
    "replaces_id": None,
}


def _fingerprint(request: UploadRequest, mime: str) -> str:
    fields = {
        "file_name": request.file_name,
        "mime_type": mime,
        "content_length": request.content_length,
        "hash_sha256": request.hash_sha256,
        "purpose": request.purpose,
        "custom_metadata": request.custom_metadata or {},
    }
    # Only what differs from the defaults: an earlier request's fingerprint stays the same.
    for name, default in LIBRARY_DEFAULTS.items():
        value = getattr(request, name)
        if value != default:
            fields[name] = str(value) if name == "replaces_id" else value
    return request_fingerprint(fields)


def existing_for_idempotency_key(access: Access, key: str, fingerprint: str) -> Image | None:
    """The image an earlier request with this key created; 409 if its parameters differ."""
    image = (
        Image.objects.for_environment(access.environment)
        .with_environment()
        .filter(idempotency_key=key)
        .first()
    )
    if image is not None and image.request_fingerprint != fingerprint:
        raise Refusal(
            domain.CONFLICT,
            "idempotency_key was already used with different parameters; "
            "use a new key for a different upload.",
        )
    return image


def image_create_standard_upload(
    *,
    access: Access,
    request: UploadRequest,
    upload_token: str | None = None,
    signed: bool = False,
) -> tuple[Image, int]:
    """Create a PENDING image for a two-step upload; returns it with its byte limit.

    ``signed``: the request carried a valid signature by the environment's signing secret
    (the compatible protocols' own proof), which stands in for an upload token.
    """
    mime, extension = _resolve_mime(request)
    limit = _check_key_policy(access, mime, request.content_length)
    if request.content_length is None and direct_mode():
        # A presigned S3 PUT cannot cap a body of unknown size; the signed length can.
        raise Refusal(
            domain.REQUIRED,
            "content_length is required: this install uploads directly to object storage",
            field="content_length",
        )
    fingerprint = _fingerprint(request, mime)
    placement = library_place(access, request.library(), request.file_name)

    if request.idempotency_key:
        existing = existing_for_idempotency_key(access, request.idempotency_key, fingerprint)
        if existing is not None:
            return existing, limit
    try:
        check_upload_allowed(access.environment, incoming_bytes=request.content_length)
    except Refusal as refusal:
        if refusal.code not in PLAN_REFUSALS:
            raise
        # A parallel request with this idempotency_key may have just taken the last upload:
        # its image is the answer to this retry too.
        existing = request.idempotency_key and existing_for_idempotency_key(
            access, request.idempotency_key, fingerprint
        )
        if not existing:
            raise
        return existing, limit

    needs_token = access.is_client_key and not access.key.allow_unsigned_upload and not signed
    if upload_token is not None and not access.is_client_key:
        upload_token = None  # tokens only mean something for Client-key uploads
    _check_pending_cap(access)

    try:
        with transaction.atomic():
            token = None
            if upload_token is not None or needs_token:
                token = upload_token_consume(
                    environment=access.environment, secret=upload_token or ""
                )
                if token is None:
                    raise Refusal(
                        domain.INVALID_TOKEN,
                        "Invalid upload token: it is missing, expired, already used, or from "
                        "another environment. Ask your backend for a new one "
                        "(POST /api/v1/images/token).",
                    )
            upload_slot_reserve(access.environment)  # the atomic guard of the upload limit
            image = Image.objects.create(
                environment=access.environment,
                upload_token=token,
                created_by_key=access.key,
                original_filename=request.file_name,
                extension=extension,
                mime_type=mime,
                declared_content_length=request.content_length,
                declared_sha256=request.hash_sha256,
                hash_sha256=request.hash_sha256,
                size_bytes=request.content_length or 0,
                purpose=request.purpose,
                custom_metadata=request.custom_metadata or {},
                idempotency_key=request.idempotency_key,
                request_fingerprint=fingerprint,
                **placement_fields(placement),
            )
            library_file(image, placement)
    except (IntegrityError, Refusal) as error:
        # A concurrent request with the same idempotency_key won the insert (or, with one
        # upload left in the plan, the slot: its image is committed once we are refused).
        if isinstance(error, Refusal) and error.code not in PLAN_REFUSALS:
            raise
        if isinstance(error, IntegrityError) and placement.claims_path:
            existing = request.idempotency_key and existing_for_idempotency_key(
                access, request.idempotency_key, fingerprint
            )
            if existing:
                return existing, limit
            raise path_taken(placement) from None
        if not request.idempotency_key:
            raise
        existing = existing_for_idempotency_key(access, request.idempotency_key, fingerprint)
        if existing is None:
            raise
        return existing, limit
    image.environment = access.environment
    if direct_mode():
        from images.tasks import poll_direct_upload

        # The polling fallback: completion is noticed even without S3 event notifications.
        enqueue_on_commit(poll_direct_upload, str(image.id), 0)
    return image, limit


def upload_url_for(image: Image, limit: int) -> str:
    """A short-lived signed URL that accepts one PUT of the declared type."""
    if direct_mode():
        return presigned_put_url(image)
    max_bytes = (
        image.declared_content_length if image.declared_content_length is not None else limit
    )
    token = signing.dumps(
        {
            "i": str(image.id),
            "t": image.mime_type,
            "n": max_bytes,
            "x": image.declared_content_length is not None,
        },
        salt=INGEST_SALT,
        compress=False,
    )
    return f"{settings.IMGWIRE_PUBLIC_URL}/ingest/{image.id}?signature={token}"


def read_upload_signature(image_id: str, signature: str) -> dict | None:
    try:
        claims = signing.loads(
            signature, salt=INGEST_SALT, max_age=settings.IMGWIRE_UPLOAD_URL_TTL_SECONDS
        )
    except signing.SignatureExpired:
        return {"expired": True}
    except signing.BadSignature:
        return None
    if not isinstance(claims, dict) or claims.get("i") != str(image_id):
        return None
    return claims
