"""Uploads through the Uploadcare protocol, on the images services every door shares."""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from images.compat.uploadcare.errors import UploadcareError
from images.compat.uploadcare.models import UploadcareFile, UploadcareSettings
from images.models import Image
from images.processing.formats import EXTENSION_TO_MIME, MIME_TO_EXTENSION, sniff_mime
from images.services.deletion import images_bulk_delete
from images.services.ingest import image_discard_unreceived, image_store_new_upload
from images.services.uploads import UploadRequest, image_create_standard_upload
from imgwire_site.domain import Refusal
from keys.authentication import Access

TEMPORARY_FOR = timedelta(hours=24)
SNIFF_BYTES = 64


@dataclass(frozen=True)
class UploadedPart:
    """A file part of a ``base/`` request: its field name, file name, type and stream."""

    field: str
    name: str
    content_type: str
    size: int
    stream: object


def store_decision(environment, store: str | None) -> bool:
    """``UPLOADCARE_STORE``: ``1`` stores, ``0`` keeps the file 24 hours, ``auto`` (and
    nothing) follows the environment's auto-store, on unless turned off."""
    if store == "1":
        return True
    if store == "0":
        return False
    settings_row = UploadcareSettings.objects.filter(environment=environment).first()
    return settings_row.auto_store if settings_row else True


def uploadcare_auto_store_set(*, environment, auto_store: bool) -> UploadcareSettings:
    row, _ = UploadcareSettings.objects.update_or_create(
        environment=environment, defaults={"auto_store": auto_store}
    )
    return row


def uploadcare_auto_store(environment) -> bool:
    return store_decision(environment, "auto")


def _name_and_type(part: UploadedPart) -> tuple[str, str]:
    """The file name (with an extension Imgwire can infer from) and its type: the bytes
    first, then the part's Content-Type, then the name's extension."""
    head = part.stream.read(SNIFF_BYTES)
    part.stream.seek(0)
    name = part.name.replace("\\", "/").rsplit("/", 1)[-1][:200] or "file"
    extension = name.rsplit(".", 1)[-1].lower() if "." in name.strip(".") else ""
    mime = sniff_mime(head)
    if mime is None and part.content_type in MIME_TO_EXTENSION:
        mime = part.content_type
    if mime is None:
        mime = EXTENSION_TO_MIME.get(extension)
    if mime is None:
        raise UploadcareError(
            "FileTypeForbiddenError",
            f"Uploading of these file types is not allowed: {part.name[:100]} is not an image "
            "Imgwire accepts (JPEG, PNG, GIF, WebP, AVIF, HEIC, TIFF, BMP, ICO, JPEG XL).",
        )
    if extension not in EXTENSION_TO_MIME:
        name = f"{name}.{MIME_TO_EXTENSION[mime]}"
    return name, mime


def uploadcare_image_create(
    *,
    access: Access,
    name: str,
    mime: str,
    size: int,
    metadata: dict,
    signed: bool,
    store: str | None,
    tags: list[str] | None = None,
) -> Image:
    """The PENDING image of an upload through this protocol, with its stored flag: the
    standard_upload service (key policy, caps, quota slot), then the Uploadcare row."""
    stored = store_decision(access.environment, store)
    with transaction.atomic():
        image, _limit = image_create_standard_upload(
            access=access,
            request=UploadRequest(
                file_name=name,
                mime_type=mime,
                content_length=size,
                custom_metadata=metadata or None,
                tags=tags or None,
            ),
            signed=signed,
        )
        now = timezone.now()
        UploadcareFile.objects.create(
            image=image,
            created_at=now,
            stored_at=now if stored else None,
            remove_after=None if stored else now + TEMPORARY_FOR,
        )
    return image


def uploadcare_upload_base(
    *,
    access: Access,
    part: UploadedPart,
    store: str | None,
    metadata: dict,
    signed: bool,
    tags: list[str] | None = None,
) -> Image:
    """One file of a direct upload: an Imgwire image of the key's environment, its bytes
    stored and its verification enqueued, plus its Uploadcare stored flag."""
    if part.size == 0:
        raise UploadcareError("FileRequiredError", "There should be a file: this one is empty.")
    name, mime = _name_and_type(part)
    image = uploadcare_image_create(
        access=access,
        name=name,
        mime=mime,
        size=part.size,
        metadata=metadata,
        signed=signed,
        store=store,
        tags=tags,
    )
    try:
        return image_store_new_upload(image=image, stream=part.stream, length=part.size)
    except Refusal:
        image_discard_unreceived(image)  # the request carried the bytes: nothing to retry
        raise


def uploadcare_file_of(access: Access, file_id) -> tuple[Image, UploadcareFile | None] | None:
    """A live image of the key's environment (uploaded through any door), or None."""
    image = (
        Image.objects.for_environment(access.environment)
        .alive()
        .with_environment()
        .filter(id=file_id)
        .first()
    )
    if image is None:
        return None
    return image, UploadcareFile.objects.filter(image=image).first()


def uploadcare_remove_unstored(now=None) -> int:
    """Delete the images of temporary files whose 24 hours are over (a reconciler step)."""
    now = now or timezone.now()
    removed = 0
    expired = UploadcareFile.objects.unstored_before(now).select_related("image__environment")
    by_environment: dict = {}
    for row in expired[:1000]:
        by_environment.setdefault(row.image.environment, []).append(row.image_id)
    for environment, image_ids in by_environment.items():
        removed += images_bulk_delete(environment=environment, image_ids=image_ids)
    return removed
