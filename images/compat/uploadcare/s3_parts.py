"""Multipart uploads straight to S3 (IMGWIRE_UPLOAD_MODE=direct): presigned UploadPart URLs.

The parts never pass through Imgwire: ``start`` opens an S3 multipart upload on the image's
incoming key and hands out one presigned URL per part (its signature binds the part's
length), ``complete`` checks the parts S3 holds and completes the upload, so the incoming
object appears whole. Relayed parts (multipart.py) serve every other storage.
"""

import contextlib

from django.conf import settings
from django.core.files.storage import default_storage
from storages.utils import clean_name


def _client_and_target(image) -> tuple[object, dict]:
    storage = default_storage
    key = storage._normalize_name(clean_name(image.incoming_key))
    return storage.connection.meta.client, {"Bucket": storage.bucket.name, "Key": key}


def s3_multipart_open(image) -> str:
    client, target = _client_and_target(image)
    return client.create_multipart_upload(**target, ContentType=image.mime_type)["UploadId"]


def s3_part_urls(session) -> list[str]:
    client, target = _client_and_target(session.image)
    return [
        client.generate_presigned_url(
            "upload_part",
            Params={
                **target,
                "UploadId": session.s3_upload_id,
                "PartNumber": number,
                "ContentLength": session.part_length(number),
            },
            ExpiresIn=settings.IMGWIRE_UPLOAD_URL_TTL_SECONDS,
            HttpMethod="PUT",
        )
        for number in range(1, session.parts_count + 1)
    ]


def s3_parts_held(session) -> dict[int, tuple[str, int]]:
    """PartNumber → (ETag, size) of the parts S3 has received."""
    client, target = _client_and_target(session.image)
    held: dict[int, tuple[str, int]] = {}
    marker = 0
    while True:
        page = client.list_parts(
            **target, UploadId=session.s3_upload_id, PartNumberMarker=marker, MaxParts=1000
        )
        for part in page.get("Parts", []):
            held[part["PartNumber"]] = (part["ETag"], part["Size"])
        if not page.get("IsTruncated"):
            return held
        marker = page["NextPartNumberMarker"]


def s3_multipart_complete(session, held: dict[int, tuple[str, int]]) -> None:
    client, target = _client_and_target(session.image)
    client.complete_multipart_upload(
        **target,
        UploadId=session.s3_upload_id,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": held[n][0]} for n in sorted(held)]},
    )


def s3_multipart_abort(session) -> None:
    client, target = _client_and_target(session.image)
    with contextlib.suppress(client.exceptions.NoSuchUpload):  # aborted or completed already
        client.abort_multipart_upload(**target, UploadId=session.s3_upload_id)
