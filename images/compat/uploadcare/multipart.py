"""Multipart uploads: ``multipart/start/``, the part PUTs, ``multipart/complete/``.

Each part is PUT to a signed URL of Imgwire's (relayed, like ``upload_url``) and streamed
into an object of its own, so parts may arrive in parallel and in any order, and a part may
be sent again. ``complete`` concatenates the parts into the image's incoming object as one
stream through the same checked store as every upload, so memory stays bounded whatever the
file's size (on S3 the assembled object is itself written as a bounded multipart upload).
"""

from django.conf import settings
from django.core import signing
from django.core.files.storage import default_storage
from django.db import transaction

from images.compat.uploadcare.errors import UploadcareError
from images.compat.uploadcare.forms import tags_from
from images.compat.uploadcare.models import UploadcareMultipart
from images.compat.uploadcare.s3_parts import (
    s3_multipart_complete,
    s3_multipart_open,
    s3_part_urls,
    s3_parts_held,
)
from images.compat.uploadcare.services import uploadcare_image_create
from images.models import Image
from images.processing.formats import EXTENSION_TO_MIME, MIME_TO_EXTENSION
from images.services.direct import direct_mode
from images.services.ingest import (
    image_discard_unreceived,
    image_record_bytes,
    image_store_new_upload,
)
from images.storage import CountingReader, delete_object, delete_prefix, open_stream, save_stream
from keys.authentication import Access

MIN_FILE_SIZE = 10 * 1024 * 1024  # Uploadcare's: smaller files use direct uploads
MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PART_SIZE = 5 * 1024**3
PART_SALT = "imgwire.uploadcare.part.v1"


def _part_size(raw: str | None) -> int:
    if raw in (None, ""):
        return MIN_PART_SIZE
    if not raw.isascii() or not raw.isdigit():
        raise UploadcareError(
            "MultipartPartSizeInvalidError", "Multipart Upload Part Size should be an integer."
        )
    value = int(raw)
    if value < MIN_PART_SIZE:
        raise UploadcareError(
            "MultipartPartSizeTooSmallError",
            f"Multipart Upload Part Size can not be less than {MIN_PART_SIZE} bytes.",
        )
    if value > MAX_PART_SIZE:
        raise UploadcareError(
            "MultipartPartSizeTooBigError",
            f"Multipart Upload Part Size can not be more than {MAX_PART_SIZE} bytes.",
        )
    return value


def _size(access: Access, raw: str | None) -> int:
    if not raw:
        raise UploadcareError("RequestParamRequiredError", "size is required.")
    if not raw.isascii() or not raw.isdigit():
        raise UploadcareError("MultipartSizeInvalidError", "size should be integer.")
    size = int(raw)
    if size < MIN_FILE_SIZE:
        raise UploadcareError(
            "MultipartFileSizeTooSmallError",
            f"File size can not be less than {MIN_FILE_SIZE} bytes. Please use direct upload "
            "instead of multipart.",
        )
    limit = access.key.effective_maximum_upload_bytes
    if size > limit:
        raise UploadcareError(
            "MultipartFileSizeLimitExceededError",
            f"File size exceeds project limit: {size} bytes is more than this key's "
            f"maximum_upload_bytes ({limit}).",
        )
    return size


def _name_and_type(filename: str | None, content_type: str | None) -> tuple[str, str]:
    if not filename:
        raise UploadcareError("RequestParamRequiredError", "filename is required.")
    # pyuploadcare sends the whole local path.
    name = filename.replace("\\", "/").rsplit("/", 1)[-1][:200] or "file"
    extension = name.rsplit(".", 1)[-1].lower() if "." in name.strip(".") else ""
    declared = (content_type or "").split(";", 1)[0].strip().lower()
    mime = declared if declared in MIME_TO_EXTENSION else EXTENSION_TO_MIME.get(extension)
    if mime is None:
        raise UploadcareError(
            "FileTypeForbiddenError",
            f"Uploading of these file types is not allowed: {name[:100]} "
            f"({declared or 'no content_type'}) is not an image Imgwire accepts.",
        )
    if extension not in EXTENSION_TO_MIME:
        name = f"{name}.{MIME_TO_EXTENSION[mime]}"
    return name, mime


def part_url(session: UploadcareMultipart, number: int) -> str:
    token = signing.dumps({"i": str(session.image_id), "n": number}, salt=PART_SALT, compress=False)
    return (
        f"{settings.IMGWIRE_PUBLIC_URL}/uploadcare/multipart/part/{session.image_id}/{number}/"
        f"?signature={token}"
    )


def uploadcare_multipart_start(
    *, access: Access, data, metadata: dict, signed: bool
) -> tuple[UploadcareMultipart, list[str]]:
    size = _size(access, data.get("size"))
    part_size = _part_size(data.get("part_size"))
    name, mime = _name_and_type(data.get("filename"), data.get("content_type"))
    with transaction.atomic():
        image = uploadcare_image_create(
            access=access,
            name=name,
            mime=mime,
            size=size,
            metadata=metadata,
            signed=signed,
            store=data.get("UPLOADCARE_STORE"),
            tags=tags_from(data),
        )
        session = UploadcareMultipart.objects.create(image=image, size=size, part_size=part_size)
    session.image = image
    if not direct_mode():
        return session, [part_url(session, n) for n in range(1, session.parts_count + 1)]
    try:
        # After the commit: no S3 call inside a database transaction.
        session.s3_upload_id = s3_multipart_open(image)
    except Exception:
        image_discard_unreceived(image)
        raise UploadcareError(
            "UploadFailedError", "Upload failed: object storage refused the multipart upload."
        ) from None
    UploadcareMultipart.objects.filter(pk=session.pk).update(s3_upload_id=session.s3_upload_id)
    return session, s3_part_urls(session)


def _session(image_id) -> UploadcareMultipart | None:
    return (
        UploadcareMultipart.objects.select_related("image")
        .filter(image_id=image_id, image__deleted_at__isnull=True)
        .first()
    )


def uploadcare_multipart_part(*, image_id, number: int, signature: str, content_length, stream):
    """Store one part, checked against the signed URL and its expected length."""
    try:
        claims = signing.loads(
            signature, salt=PART_SALT, max_age=settings.IMGWIRE_UPLOAD_URL_TTL_SECONDS
        )
    except signing.BadSignature:
        raise UploadcareError(
            "SignatureInvalidError", "Invalid signature: use the part URL exactly as returned."
        ) from None
    if claims != {"i": str(image_id), "n": number}:
        raise UploadcareError("SignatureInvalidError", "Invalid signature for this part.")
    session = _session(image_id)
    if session is None or not 1 <= number <= session.parts_count:
        raise UploadcareError("MultipartFileNotFoundError", "File is not found.")
    if session.completed_at is not None or not session.image.can_upload:
        raise UploadcareError("MultipartFileAlreadyUploadedError", "File is already uploaded.")
    expected = session.part_length(number)
    if not content_length or not content_length.isascii() or not content_length.isdigit():
        raise UploadcareError(
            "MultipartFileCompletionFailedError",
            f"Send a Content-Length header with the part's size ({expected} bytes).",
        )
    if int(content_length) != expected:
        raise UploadcareError(
            "MultipartFileCompletionFailedError",
            f"Can not complete upload. Wrong parts size? Part {number} must be {expected} "
            f"bytes, not {content_length}.",
        )
    reader = CountingReader(stream, limit=expected)
    key = session.part_key(number)
    try:
        save_stream(key, reader, expected)
    except Exception:
        delete_object(key)
        raise UploadcareError(
            "MultipartFileCompletionFailedError",
            f"Part {number} could not be stored (the connection may have dropped); PUT it again.",
        ) from None
    if reader.count != expected:
        delete_object(key)
        raise UploadcareError(
            "MultipartUploadSizeTooSmallError",
            f"Part {number}: received {reader.count} of {expected} bytes; PUT it again.",
        )


class _Concatenated:
    """The parts, in order, read as one stream (one part open at a time)."""

    def __init__(self, keys: list[str]):
        self.keys = list(keys)
        self.current = None

    def read(self, size: int = -1) -> bytes:
        while True:
            if self.current is None:
                if not self.keys:
                    return b""
                self.current, _ = open_stream(self.keys.pop(0))
            chunk = self.current.read(size)
            if chunk:
                return chunk
            self.current.close()
            self.current = None

    def close(self) -> None:
        if self.current is not None:
            self.current.close()


def uploadcare_multipart_complete(*, access: Access, image_id) -> Image:
    session = _session(image_id)
    if session is None or session.image.environment_id != access.environment.id:
        raise UploadcareError("MultipartFileNotFoundError", "File is not found.")
    if session.completed_at is not None or not session.image.can_upload:
        raise UploadcareError("MultipartFileAlreadyUploadedError", "File is already uploaded.")
    if session.s3_upload_id:
        return _complete_on_s3(session)
    keys = [session.part_key(n) for n in range(1, session.parts_count + 1)]
    _refuse_missing([n for n, key in enumerate(keys, 1) if not default_storage.exists(key)])
    stream = _Concatenated(keys)
    try:
        image = image_store_new_upload(image=session.image, stream=stream, length=session.size)
    finally:
        stream.close()
    UploadcareMultipart.objects.filter(pk=session.pk).update(completed_at=image.bytes_received_at)
    delete_prefix(session.parts_prefix)
    return image


def _refuse_missing(missing: list[int]) -> None:
    if missing:
        raise UploadcareError(
            "MultipartUploadSizeTooSmallError",
            f"File size mismatch. Not all parts uploaded? Missing part(s): "
            f"{', '.join(map(str, missing[:10]))}.",
        )


def _complete_on_s3(session: UploadcareMultipart) -> Image:
    held = s3_parts_held(session)
    numbers = range(1, session.parts_count + 1)
    _refuse_missing([n for n in numbers if n not in held])
    wrong = [n for n in numbers if held[n][1] != session.part_length(n)]
    if wrong:
        raise UploadcareError(
            "MultipartFileCompletionFailedError",
            f"Can not complete upload. Wrong parts size? Part {wrong[0]} holds "
            f"{held[wrong[0]][1]} bytes, not {session.part_length(wrong[0])}.",
        )
    s3_multipart_complete(session, {n: held[n] for n in numbers})
    # The incoming object now exists whole; processing hashes it as it copies it.
    image_record_bytes(session.image_id, size=session.size)
    image = Image.objects.with_environment().get(pk=session.image_id)
    UploadcareMultipart.objects.filter(pk=session.pk).update(completed_at=image.bytes_received_at)
    return image
