"""Uploads through the ImageKit protocol, on the images services every door shares.

An upload becomes an ordinary Imgwire image of the caller's environment: the bytes go
through image_create_standard_upload + image_store_new_upload (binary, base64) or
image_create_from_url (a URL), are verified by the worker, and this module waits a bounded
time for the result so the answer carries the real width and height (docs/compat-imagekit.md).
"""

import time

from images.compat.imagekit.errors import ImageKitError, bad_request
from images.compat.imagekit.forms import ImageKitUpload
from images.compat.imagekit.sources import Incoming, pre_transformed
from images.models import Image, ImageStatus
from images.processing.formats import EXTENSION_TO_MIME, MIME_TO_EXTENSION, sniff_mime
from images.services.ingest import image_discard_unreceived, image_store_new_upload
from images.services.library import LibraryRequest, unique_file_name
from images.services.uploads import UploadRequest, image_create_standard_upload
from images.services.versions import image_promoted_to
from imgwire_site.domain import Refusal
from imgwire_site.tasks import enqueue_on_commit
from keys.authentication import Access

SNIFF_BYTES = 64
# How long an upload request waits for verification (and, for an overwrite, promotion)
# before answering with what is known: long enough for a large photo on a busy worker,
# short enough to stay inside the SDKs' 60 s default timeout with their retries unused.
READY_WAIT_SECONDS = 25.0
POLL_FIRST, POLL_MAX = 0.02, 0.25
SETTLED = (ImageStatus.READY, ImageStatus.QUARANTINE)
OVERWRITE_REFUSED = (
    "A file with the same name already exists at the exact location. We could not overwrite "
    "it because both overwriteFile and useUniqueFileName are set to false."
)


def _mime_of(incoming: Incoming, name: str) -> str:
    """The type the bytes announce; a name or a part's Content-Type never makes a file an
    image (the verifier has the final word on what the bytes announce)."""
    head = incoming.stream.read(SNIFF_BYTES)
    incoming.stream.seek(0)
    mime = sniff_mime(head)
    if mime is None:
        raise bad_request(
            f"{name[:100]} is not an image Imgwire accepts (JPEG, PNG, GIF, WebP, AVIF, HEIC, "
            "TIFF, BMP, ICO, JPEG XL)."
        )
    return mime


def _with_extension(name: str, mime: str) -> str:
    """The Imgwire original_filename: ImageKit's name, given an extension if it has none
    (Imgwire names carry their type; the ImageKit ``name`` stays as given)."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name.strip(".") else ""
    return name if extension in EXTENSION_TO_MIME else f"{name}.{MIME_TO_EXTENSION[mime]}"


def _file_at_path(access: Access, folder: str, name: str) -> Image | None:
    """The file an upload with useUniqueFileName=false lands on, if any (quarantined
    uploads are no files: they never hold a path)."""
    return (
        Image.objects.for_environment(access.environment)
        .at_path(folder, name)
        .exclude(status=ImageStatus.QUARANTINE)
        .order_by("created_at")
        .first()
    )


def _library(upload: ImageKitUpload, name: str, replaces: Image | None) -> LibraryRequest:
    return LibraryRequest(
        tags=upload.tags,
        folder=upload.folder,
        name=name,
        is_private=upload.is_private,
        custom_coordinates=upload.custom_coordinates,
        replaces_id=str(replaces.id) if replaces else None,
        # ImageKit: with tags (customMetadata) in the request the flag has no effect.
        overwrite_tags=upload.overwrite_tags or upload.tags is not None,
        overwrite_custom_metadata=(
            upload.overwrite_custom_metadata or upload.custom_metadata is not None
        ),
        claims_path=True,  # an ImageKit file holds its path alone
    )


def imagekit_upload(
    *, access: Access, upload: ImageKitUpload, incoming: Incoming, signed: bool, pre=None
) -> Image:
    """Create the image (or the next version of the file at its path) and send its bytes
    to verification; returns the PENDING (staging) image. ``pre``: the (query, preset) of
    transformation.pre, rendered before anything is stored."""
    name = upload.file_name
    replaces = None
    if upload.use_unique_file_name:
        name = unique_file_name(name)
    else:
        replaces = _file_at_path(access, upload.folder, name)
        if replaces is not None and not upload.overwrite_file:
            raise ImageKitError(409, OVERWRITE_REFUSED)
    library = _library(upload, name, replaces)
    if incoming.size == 0:
        raise bad_request("file is empty.")
    mime = _mime_of(incoming, name)
    if pre is not None:
        incoming = pre_transformed(incoming, mime, *pre)
        mime = _mime_of(incoming, name)
    image, _limit = image_create_standard_upload(
        access=access,
        request=UploadRequest(
            file_name=_with_extension(name, mime),
            mime_type=mime,
            content_length=incoming.size,
            custom_metadata=upload.custom_metadata,
            **{field: getattr(library, field) for field in LibraryRequest.__dataclass_fields__},
        ),
        signed=signed,
    )
    try:
        return image_store_new_upload(image=image, stream=incoming.stream, length=incoming.size)
    except Refusal:
        image_discard_unreceived(image)  # the request carried the bytes: nothing to retry
        raise


def _deadline() -> float:
    return time.monotonic() + READY_WAIT_SECONDS


def _poll(check, deadline: float):
    """``check()`` until it returns something or the deadline passes (then None)."""
    pause = POLL_FIRST
    while True:
        found = check()
        if found is not None or time.monotonic() >= deadline:
            return found
        time.sleep(pause)
        pause = min(pause * 1.5, POLL_MAX)


def imagekit_settled(image: Image) -> Image:
    """The upload once verified, or once it became the next version of the file it
    overwrites; as it is when the wait runs out. A refused file answers 400."""
    deadline = _deadline()

    def settled():
        return Image.objects.filter(id=image.id, status__in=SETTLED).first()

    current = _poll(settled, deadline) or Image.objects.get(id=image.id)
    if current.status == ImageStatus.QUARANTINE:
        raise bad_request(
            "The file was refused when it was checked: "
            f"{current.status_reason or 'it is not an image Imgwire accepts'}."
        )
    if current.status == ImageStatus.READY and current.replaces_id is not None:

        def promoted():
            target = image_promoted_to(image.id)
            if target is not None:
                return target
            row = Image.objects.filter(id=image.id, replaces__isnull=True).first()
            return row  # the file it replaced went away: the upload stands alone

        current = _poll(promoted, deadline) or current
    return Image.objects.with_environment().get(id=current.id)


def imagekit_post_enqueue(image: Image, transformations: list[str]) -> None:
    """Render the post transformations' variants once the image is READY (after commit)."""
    if transformations:
        from images.compat.imagekit.tasks import render_post_transformations

        enqueue_on_commit(render_post_transformations, str(image.id), list(transformations))
