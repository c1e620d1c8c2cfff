"""Delivery: which bytes answer a CDN URL, from the variant cache or a fresh render."""

import contextlib
import hashlib
import io
import logging
import math
import os
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from typing import BinaryIO

from django.conf import settings
from django.db import IntegrityError
from django.utils import timezone

from images.delivery import render_child
from images.delivery.lookup import find_deliverable
from images.delivery.sandbox import SandboxFailure, run_sandboxed
from images.models import Image, RenderLock, variants_prefix
from images.processing.formats import MIME_TO_EXTENSION
from images.processing.limits import configured_max_pixels
from images.storage import local_path, object_exists, open_object, open_stream, replace_file
from images.transform.focus import uses_custom

# Bump when the engine's output for the same request changes: new keys, new ETags.
ENGINE_VERSION = "1"
INTERMEDIATE_TYPES = {"image/heic", "image/jxl", "image/tiff"}
CONTENT_TYPES = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "avif": "image/avif",
    "gif": "image/gif",
    "tiff": "image/tiff",
}

logger = logging.getLogger(__name__)


class DeliveryError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Plan:
    image: Image
    key: str  # storage key of the bytes to send
    kind: str  # "original" | "variant"
    content_type: str
    etag: str
    negotiated: bool
    untransformed: bool = False


@dataclass(frozen=True)
class Delivered:
    body: BinaryIO
    size: int
    cache_hit: bool
    rendered: bool


def find_image(organization_id, environment_id, image_id) -> Image | None:
    # The plan rides along so quota checks on an unlimited plan cost no extra query.
    return find_deliverable(organization_id, environment_id, image_id)


def source_info(image: Image) -> dict:
    return {
        "mime_type": image.mime_type,
        "width": image.width,
        "height": image.height,
        "orientation": image.orientation,
        "is_animated": image.is_animated,
        "has_alpha": image.has_alpha,
    }


def variant_headers(plan: Plan, cache_control: str) -> dict:
    """The headers every answer with a variant's bytes (or its 304) carries."""
    headers = {
        "ETag": plan.etag,
        "Cache-Control": cache_control,
        "X-Content-Type-Options": "nosniff",
    }
    if plan.negotiated:
        headers["Vary"] = "Accept"
    return headers


def plan_delivery(image: Image, transform, accept: str | None) -> Plan:
    from images.transform.engine import SourceInfo
    from images.transform.negotiate import choose_format

    prefix = variants_prefix(image.environment_id, image.id)
    # After an overwrite the version joins the keys, so a render of the earlier bytes
    # finishing late can never be served as the new version's (images/services/versions).
    version = f"-v{image.version}" if image.version > 1 else ""
    if transform.is_identity and image.is_directly_deliverable:
        fmt, negotiated = MIME_TO_EXTENSION[image.mime_type], False
        content_type, kind, name = image.mime_type, "original", f"original{version}"
    else:
        fmt, negotiated = choose_format(transform, SourceInfo(**source_info(image)), accept)
        fmt = fmt.lower().removeprefix("image/")
        content_type = CONTENT_TYPES.get(fmt, f"image/{fmt}")
        kind = "variant"
        # gravity=custom renders depend on the image's focus area: a changed area is a
        # new variant, never the old crop.
        focus = f"|focus={image.custom_coordinates}" if uses_custom(transform.params) else ""
        name = hashlib.sha256(
            f"{transform.canonical()}|{fmt}|{ENGINE_VERSION}{version}{focus}".encode()
        ).hexdigest()[:40]
    key = f"{prefix}{name}.{fmt}"
    etag = '"' + hashlib.sha256(f"{image.hash_sha256}|{key}".encode()).hexdigest()[:32] + '"'
    return Plan(image, key, kind, content_type, etag, negotiated, transform.is_identity)


def _fitted_to_output_limits(image: Image, fmt: str) -> list[tuple[str, str]]:
    """The resize an untransformed re-encode of ``image`` as ``fmt`` needs to stay inside
    the output limits (none when it fits). The request asked for nothing, so it is never
    refused for the original's size, which verification accepted: the copy is shrunk."""
    from images.transform.limits import MAX_SIDE, Limits
    from images.transform.negotiate import FORMATS

    width, height = image.width, image.height
    if image.orientation >= 5:
        width, height = height, width
    frames = 1
    output = FORMATS.get(fmt)
    if image.is_animated and output is not None and output.animated:
        frames = min(max(image.frames, 1), Limits.max_frames)  # the frames it renders
    area = settings.IMGWIRE_MAX_OUTPUT_PIXELS // frames
    scale = min(1.0, MAX_SIDE / width, MAX_SIDE / height, (area / (width * height)) ** 0.5)
    if scale >= 1.0:
        return []
    # Name the long side only: the engine scales by it and rounds the other (geometry.py).
    side, long, short = ("width", width, height) if width >= height else ("height", height, width)
    target = max(1, math.floor(long * scale))
    while target > 1 and target * max(1, round(short * target / long)) > area:
        target -= 1
    return [(side, str(target))]


def _copy_to(key: str, target) -> None:
    source, _ = open_stream(key)
    with contextlib.closing(source):
        while chunk := source.read(1024 * 1024):
            target.write(chunk)
    target.flush()


class _Workdir:
    """A temporary folder made only when a render needs one (a copy of an object from
    remote storage, a watermark): a render from local storage needs none."""

    def __init__(self):
        self._folder = None

    def path(self, name: str) -> str:
        if self._folder is None:
            self._folder = tempfile.TemporaryDirectory(prefix="imgwire-render-")
        return f"{self._folder.name}/{name}"

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self._folder is not None:
            self._folder.cleanup()


def _readable_path(key: str, workdir: _Workdir, name: str) -> str:
    """A path a render child can read ``key`` from: the object's own file on local
    storage, a copy in ``workdir`` otherwise."""
    path = local_path(key)
    if path is not None:
        if not os.path.isfile(path):
            raise _missing(key)
        return path
    path = workdir.path(name)
    try:
        with open(path, "wb") as target:
            _copy_to(key, target)
    except FileNotFoundError:
        raise _missing(key) from None
    return path


def _missing(key: str) -> DeliveryError:
    """A READY image whose stored bytes are gone (lost by storage, or removed by hand):
    nothing can be rendered, and that is not the request's fault nor worth a 500 per try."""
    logger.error("The stored object %s of a READY image is missing.", key)
    return DeliveryError(404, "The image's stored bytes are missing.")


def _save_output(key: str, result: dict) -> None:
    """Store what a render child returned: its bytes, or the temporary file it spilled."""
    if "data" in result:
        replace_file(key, io.BytesIO(result["data"]))
        return
    try:
        with open(result["path"], "rb") as produced:
            replace_file(key, produced)
    finally:
        os.unlink(result["path"])


def _single_flight(key: str, produce) -> bool:
    """Run ``produce()`` for a ``key`` the caller just found missing, unless another
    request is producing it: then wait for that one. True when this call produced it."""
    timeout = settings.IMGWIRE_RENDER_TIMEOUT_SECONDS
    deadline = timezone.now() + timedelta(seconds=timeout * 2 + 5)
    while True:
        try:
            RenderLock.objects.create(key=key)
        except IntegrityError:
            stale = timezone.now() - timedelta(seconds=timeout * 2)
            RenderLock.objects.filter(key=key, created_at__lt=stale).delete()
            if timezone.now() > deadline:
                raise DeliveryError(503, "The variant is still being rendered; retry.") from None
            _wait_briefly()
            if object_exists(key):
                return False
            continue
        try:
            if object_exists(key):  # finished between the caller's look and our lock
                return False
            produce()
            return True
        finally:
            RenderLock.objects.filter(key=key).delete()


def _wait_briefly() -> None:
    import time

    time.sleep(0.05)


def _sandboxed(function, payload: dict) -> dict | None:
    try:
        return run_sandboxed(
            function,
            payload,
            memory_bytes=settings.IMGWIRE_RENDER_MEMORY_BYTES,
            timeout=settings.IMGWIRE_RENDER_TIMEOUT_SECONDS,
            max_jobs=settings.IMGWIRE_RENDER_CHILD_MAX_JOBS,
            max_pixels=configured_max_pixels(),
        )
    except SandboxFailure as failure:
        raise DeliveryError(failure.status, failure.message) from None


def _intermediate_key(image: Image) -> str:
    version = f"-v{image.version}" if image.version > 1 else ""
    return f"{variants_prefix(image.environment_id, image.id)}intermediate{version}"


def _source_for_render(image: Image, workdir: _Workdir) -> tuple[str, dict]:
    """A path renders read: the original, or the decoded intermediate (which
    _ensure_intermediate has made by now)."""
    info = source_info(image)
    if image.mime_type not in INTERMEDIATE_TYPES:
        return _readable_path(image.original_key, workdir, "source"), info
    path = _readable_path(_intermediate_key(image), workdir, "intermediate")
    from PIL import Image as PILImage

    with PILImage.open(path) as probe:
        width, height, bands, fmt = probe.width, probe.height, probe.getbands(), probe.format
    info.update(
        mime_type="image/png" if fmt == "PNG" else "image/jpeg",
        width=width,
        height=height,
        orientation=1,
        is_animated=False,
        has_alpha="A" in bands,
    )
    return path, info


def _ensure_intermediate(image: Image, workdir: _Workdir, request) -> dict | None:
    """Decode the original into its intermediate unless that exists, and render the
    requested variant (``request()``) from the same pixels in the same job
    (render_child.decode_intermediate). Returns that variant, or None when the
    intermediate existed or another request made it meanwhile: render from it then."""
    key = _intermediate_key(image)
    if object_exists(key):
        return None
    rendered = {}

    def produce():
        source = _readable_path(image.original_key, workdir, "original")
        result = _sandboxed(
            render_child.decode_intermediate, {"source_path": source, "variant": request()}
        )
        _save_output(key, result["intermediate"])
        rendered.update(result["variant"])

    _single_flight(key, produce)
    if "error" in rendered:
        raise DeliveryError(*rendered["error"])
    return rendered or None


def ensure_delivered(
    plan: Plan,
    *,
    query: list,
    preset: str | None,
    accept: str | None,
    watermark=None,
    known_missing: bool = False,
) -> Delivered:
    """The planned bytes, opened: from the variant cache, or rendered into it first
    (``known_missing``: the caller has just looked in the cache, one request on S3).

    ``query``/``preset`` are the request's own (the child parses them again: a Transform
    does not cross the process boundary); ``watermark(path)`` copies the watermark image
    to ``path`` and returns it, when the transform has one. The caller closes ``body``.
    """
    cached = None if known_missing else open_object(plan.key)
    if cached is not None:
        return Delivered(*cached, cache_hit=True, rendered=False)
    image = plan.image

    def request(workdir: _Workdir) -> dict:
        """What render_variant needs beside the source."""
        asked = {
            "query": query,
            "preset": preset,
            "accept": accept,
            "max_output_pixels": settings.IMGWIRE_MAX_OUTPUT_PIXELS,
            # gravity=custom's area, in pixels of the picture as displayed: it holds for
            # the original and for the upright intermediate alike.
            "focus": image.custom_coordinates or "",
            "watermark_path": watermark(workdir.path("watermark")) if watermark else None,
        }
        if plan.kind == "original":  # re-encoded in its own format
            asked.update(query=[("format", MIME_TO_EXTENSION[image.mime_type])], preset=None)
        if plan.untransformed:
            fmt = plan.key.rsplit(".", 1)[1]
            asked["query"] = [*asked["query"], *_fitted_to_output_limits(image, fmt)]
        return asked

    def produce():
        with _Workdir() as workdir:
            if image.mime_type in INTERMEDIATE_TYPES:
                first = _ensure_intermediate(image, workdir, lambda: request(workdir))
                if first is not None:
                    _save_output(plan.key, first)
                    return
            source_path, info = _source_for_render(image, workdir)
            payload = {"source_path": source_path, "info": info}
            result = None
            if plan.kind == "original":
                result = _sandboxed(render_child.sanitize_original, payload)
            if result is None:
                result = _sandboxed(render_child.render_variant, {**payload, **request(workdir)})
            _save_output(plan.key, result)

    rendered = _single_flight(plan.key, produce)
    opened = open_object(plan.key)
    if opened is None:  # deleted with its image between the render and now
        raise DeliveryError(404, "No such image.")
    return Delivered(*opened, cache_hit=False, rendered=rendered)
