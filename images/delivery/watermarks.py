"""Resolving a render's watermark source to a local file, only when a render happens.

An image watermark must be a READY image of the same environment (ids never name storage
keys); a ``watermark_url`` goes through the same address checks as ``upload_via_url``.
"""

import contextlib

from django.conf import settings

from images.delivery.service import DeliveryError
from images.models import Image, ImageStatus
from images.remote import FetchError, FetchLimits, open_remote
from images.storage import open_stream


def _copy(source, path: str, limit: int | None = None) -> str:
    written = 0
    with contextlib.closing(source), open(path, "wb") as target:
        while chunk := source.read(256 * 1024):
            written += len(chunk)
            if limit is not None and written > limit:
                raise DeliveryError(400, f"The watermark is larger than {limit} bytes.")
            target.write(chunk)
    return path


def watermark_fetcher(image: Image, transform):
    params = transform.params
    if "watermark" in params:
        mark_id = params["watermark"].image_id

        def from_image(path: str) -> str:
            mark = (
                Image.objects.alive()
                .filter(id=mark_id, environment_id=image.environment_id, status=ImageStatus.READY)
                .first()
            )
            if mark is None:
                raise DeliveryError(
                    400, f"watermark: image {mark_id} is not a READY image of this environment."
                )
            return _copy(open_stream(mark.original_key)[0], path)

        return from_image
    if "watermark_url" in params:
        url = params["watermark_url"]

        def from_url(path: str) -> str:
            limits = FetchLimits(
                max_bytes=settings.IMGWIRE_WATERMARK_MAX_BYTES,
                header_timeout=5,
                total_deadline=10,
                max_redirects=5,
                allowed_networks=settings.IMGWIRE_URL_FETCH_ALLOWED_NETWORKS,
            )
            try:
                with open_remote(url, limits) as body:
                    return _copy(body, path)
            except FetchError as error:
                raise DeliveryError(400, f"watermark_url: {error.message}") from None

        return from_url
    return None
