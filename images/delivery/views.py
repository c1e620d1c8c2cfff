"""The CDN delivery view: {IMGWIRE_CDN_URL}/{org}/{env}/{image}[@preset][?transform…].

The query may carry ImageKit's ``tr`` (imagekit_syntax.py) and a signature (``ik-t``/``ik-s``,
signing.py): a private image answers only presets without one (docs/delivery.md).
"""

import functools
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote

from django.http import FileResponse, HttpResponse, JsonResponse
from django.views.decorators.http import require_http_methods

from environments.quotas import check_delivery_allowed
from images.delivery.service import (
    DeliveryError,
    ensure_delivered,
    find_image,
    plan_delivery,
    variant_headers,
)
from images.delivery.signing import SignatureRefused, split_signature, verify
from images.delivery.signing import cache_control as signed_cache_control
from images.delivery.watermarks import watermark_fetcher
from images.storage import object_exists
from images.transform import Transform, TransformError, parse_transform
from images.transform.imagekit_syntax import to_query as imagekit_query
from imgwire_site.api.errors import PaymentRequiredError
from imgwire_site.domain import Refusal
from metrics.usage import record_delivery

CACHE_CONTROL = "public, max-age=31536000, immutable"
MAX_QUERY_LENGTH = 8192
# Queries up to this long are parsed once per process (see _parsed): 1024 of them held
# ~2.5 MB at most (measured), where 1024 of 8 KB could hold ~20 MB. Real ones are shorter.
MEMO_QUERY_LENGTH = 512


def _error(status: int, message: str, error_type: str, **extra) -> JsonResponse:
    response = JsonResponse({"detail": message, "error_type": error_type, **extra}, status=status)
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _not_found() -> JsonResponse:
    return _error(404, "No such image.", "ResourceNotFoundError")


def _matches(if_none_match: str, etag: str) -> bool:
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


class StoredObjectResponse(FileResponse):
    """A stored object's bytes: sendfile where the server offers it (gunicorn does for local
    files), 256 KiB reads otherwise. Its headers are the view's, none guessed from names."""

    block_size = 256 * 1024

    def set_headers(self, filelike):
        pass


def _parse(raw_query: str, preset: str | None) -> tuple[tuple[tuple[str, str], ...], Transform]:
    """The decoded query pairs (ImageKit's ``tr`` translated into Imgwire's) and their
    Transform, whose ``preset`` is the one in effect; raises TransformError."""
    query = tuple(parse_qsl(_as_sent(raw_query), keep_blank_values=True))
    if any(name == "tr" for name, _ in query):
        query, preset = _with_imagekit(query, preset)
    return query, parse_transform(query, preset)


def _as_sent(raw_query: str) -> str:
    """The query's text as the client wrote it. Under WSGI each byte arrives as one latin-1
    character, so UTF-8 written without percent-encoding (curl, hand-made links) would read
    as mojibake and be refused for "control characters" it does not have; its real text is
    refused or accepted by the parameter's own rule instead. Not UTF-8: left as it came."""
    try:
        return raw_query.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):  # ASGI's text already, or not UTF-8
        return raw_query


def _with_imagekit(query, preset: str | None):
    """``?tr=w-300,h-200`` (ImageKit's transformation syntax) as Imgwire's own pairs,
    beside any others; a named transformation (``n-thumbnail``) is the preset."""
    given = [value for name, value in query if name == "tr"]
    if len(given) > 1:
        raise TransformError("tr", "tr may appear only once")
    try:
        pairs, named = imagekit_query(given[0])
    except Refusal as refusal:
        raise TransformError("tr", refusal.message) from None
    if named and preset and named != preset:
        raise TransformError("tr", f"tr names the preset {named}, the URL @{preset}")
    return tuple(p for p in query if p[0] != "tr") + tuple(pairs), preset or named


# The same query string always means the same Transform, and parsing it anew cost ~20 µs
# of every request. Both halves are immutable (tuples; a frozen Transform whose params are a
# read-only mapping of numbers, strings, tuples and frozen dataclasses), so every request
# may share them. Errors are not cached: an invalid query raises anew each time.
_parsed = functools.lru_cache(maxsize=1024)(_parse)


@dataclass(frozen=True)
class Prepared:
    """A CDN request checked and planned, not answered yet."""

    image: object
    transform: object
    query: tuple  # the decoded (name, value) pairs, for a render child to parse again
    preset: str | None
    accept: str | None
    plan: object
    headers: dict


@require_http_methods(["GET", "HEAD"])
def deliver(request, organization_id, environment_id, image_ref, path_transform=None):
    """Also called straight from the WSGI layer (images/delivery/fastpath.py)."""
    prepared = prepare(request, organization_id, environment_id, image_ref, path_transform)
    if isinstance(prepared, Prepared):
        return finish(request, prepared)
    return prepared


PATH_TRANSFORM_PREFIX = "tr:"  # ImageKit's path segment: …/{env}/tr:w-300/{image}


@require_http_methods(["GET", "HEAD"])
def deliver_path_form(request, organization_id, environment_id, segment, image_ref):
    """ImageKit's path form, ``…/{env}/tr:w-300,h-200/{image}``: the same as ``?tr=``."""
    if not segment.startswith(PATH_TRANSFORM_PREFIX):
        return _not_found()
    return deliver(
        request,
        organization_id,
        environment_id,
        image_ref,
        segment.removeprefix(PATH_TRANSFORM_PREFIX),
    )


def prepare(
    request, organization_id, environment_id, image_ref, path_transform: str | None = None
) -> Prepared | HttpResponse:
    """Everything before the bytes: the image, the transform, the plan, the quota, and the
    answers that need no bytes (errors and 304s). ``path_transform``: the ImageKit
    transformation given in the path (``tr:w-300`` without its ``tr:``)."""
    image_id, _, preset = image_ref.partition("@")
    try:
        ids = uuid.UUID(organization_id), uuid.UUID(environment_id), uuid.UUID(image_id)
    except ValueError:
        return _not_found()
    image = find_image(*ids)
    if image is None:
        return _not_found()
    raw_query = request.META.get("QUERY_STRING", "")
    if len(raw_query) > MAX_QUERY_LENGTH:
        return _error(
            414,
            f"The query may be at most {MAX_QUERY_LENGTH} characters.",
            "InvalidTransformationError",
        )
    signed_ref = image_ref
    if path_transform is not None:
        # What ImageKit's SDKs sign is the URL after the endpoint: the segment included.
        signed_ref = f"{PATH_TRANSFORM_PREFIX}{path_transform}/{image_ref}"
    try:
        raw_query, expiry, signature = split_signature(raw_query)
        signed = None
        if signature is not None:  # checked before anything else reads the query
            signed = verify(image.environment_id, signed_ref, raw_query, expiry, signature)
    except SignatureRefused as refused:
        return _error(403, refused.message, "ResourceNotAuthorizedError")
    if path_transform is not None:
        if len(path_transform) > MAX_QUERY_LENGTH:
            return _error(
                414,
                f"The transformation may be at most {MAX_QUERY_LENGTH} characters.",
                "InvalidTransformationError",
            )
        if any(name == "tr" for name, _ in parse_qsl(raw_query, keep_blank_values=True)):
            return _error(
                400,
                "Give the transformation once: in the path (tr:…) or as ?tr=, not both.",
                "InvalidTransformationError",
                parameter="tr",
            )
        given = "tr=" + quote(path_transform, safe=",:-_.")
        raw_query = f"{given}&{raw_query}" if raw_query else given
    private = image.is_private and signed is None
    parse = _parsed if len(raw_query) <= MEMO_QUERY_LENGTH else _parse
    try:
        query, transform = parse(raw_query, preset or None)
    except TransformError as error:
        if private:  # says nothing about an image the caller may not know exists
            return _not_found()
        return _error(400, error.message, "InvalidTransformationError", parameter=error.parameter)
    if private and not (transform.preset is not None and not query):
        # Only a preset alone (a named transformation) is public on a private image, as
        # on ImageKit; the original and free-form transformations need a signed URL.
        return _not_found()
    accept = request.META.get("HTTP_ACCEPT")
    plan = plan_delivery(image, transform, accept)
    try:
        check_delivery_allowed(
            image.environment.organization, is_cached=lambda: object_exists(plan.key)
        )
    except PaymentRequiredError as refusal:
        return _error(402, str(refusal.detail), refusal.error_type)
    cache_control = CACHE_CONTROL
    if signed is not None and image.is_private:  # never kept by a shared cache
        cache_control = signed_cache_control(signed)
    headers = variant_headers(plan, cache_control)
    if _matches(request.META.get("HTTP_IF_NONE_MATCH", ""), plan.etag):
        record_delivery(image.environment_id, bytes_sent=0, cache_hit=True, rendered=False)
        return HttpResponse(status=304, headers=headers)
    return Prepared(image, transform, query, transform.preset, accept, plan, headers)


def finish(request, prepared: Prepared, *, known_missing: bool = False) -> HttpResponse:
    """The bytes: from the variant cache, or rendered into it first (``known_missing``:
    the caller has just found the variant missing)."""
    image, plan = prepared.image, prepared.plan
    try:
        delivered = ensure_delivered(
            plan,
            query=prepared.query,
            preset=prepared.preset,
            accept=prepared.accept,
            watermark=watermark_fetcher(image, prepared.transform),
            known_missing=known_missing,
        )
    except DeliveryError as error:
        return _error(error.status, error.message, "RenderError")
    headers = {**prepared.headers, "Content-Length": str(delivered.size)}
    record_delivery(
        image.environment_id,
        bytes_sent=0 if request.method == "HEAD" else delivered.size,
        cache_hit=delivered.cache_hit,
        rendered=delivered.rendered,
    )
    if request.method == "HEAD":
        delivered.body.close()
        return HttpResponse(content_type=plan.content_type, headers=headers)
    return StoredObjectResponse(delivered.body, content_type=plan.content_type, headers=headers)
