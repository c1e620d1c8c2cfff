"""The MCP server's tools: thin wrappers over the same services (and errors) as the API.

Every tool runs as the member of the current call (``current_credential``), re-checked by
the /mcp view on each request, with the scopes their role still allows. Results are small,
paginated dicts, sized for a model's context."""

import contextvars
import functools
import uuid
from datetime import datetime
from urllib.parse import urlencode

from asgiref.sync import sync_to_async
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import QueryDict
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from rest_framework.exceptions import APIException

from domains.models import CorsOrigin
from domains.services import cors_origin_create
from images.models import Image, ImageStatus
from images.services.deletion import image_delete
from images.services.downloads import download_job_create
from images.services.remote import image_create_from_url
from images.transform.params import parse_transform
from images.transform.values import TransformError
from imgwire_site.api.parsers import json_text_problems
from imgwire_site.api.text import problem_sentence
from imgwire_site.domain import Refusal
from keys.oauth.scopes import IMAGES_READ, IMAGES_WRITE, SETTINGS_WRITE
from metrics.datasets import metrics_stats
from metrics.serializers import metrics_range_from_query

current_credential = contextvars.ContextVar("current_credential")
current_access = contextvars.ContextVar("current_access")

server = MCPServer(
    "imgwire",
    instructions="Manage the images of the one Imgwire environment this connection acts in.",
)

MAX_LIMIT = 50


def _error_text(exc: Exception) -> str:
    if isinstance(exc, Refusal):
        return f"{exc.code}: {exc}" if str(exc) else exc.code
    if isinstance(exc, APIException):
        detail = exc.detail
        return str(detail)
    if isinstance(exc, DjangoValidationError):
        return "; ".join(exc.messages)
    return str(exc)


def tool(scope: str):
    """An MCP tool needing ``scope``: the sync body runs through sync_to_async, so in the
    /mcp view's thread with its database connection (the view drives the loop)."""

    def decorator(fn):
        @functools.wraps(fn)
        def guarded(**kwargs):
            credential = current_credential.get()
            if scope not in credential.scopes:
                raise ToolError(
                    f"This connection may not do that: it needs the {scope} scope "
                    "(granted at consent and allowed by your current role)."
                )
            # Arguments are text from a JSON-RPC body, checked as every other text a
            # request brings (imgwire_site/api/text.py): PostgreSQL refuses a NUL even in
            # a filter, which the SDK would report as an internal error.
            for name, value in kwargs.items():
                if problems := json_text_problems(value, [name], subject=name):
                    raise ToolError(problem_sentence(problems[0]))
            try:
                return fn(**kwargs)
            except ToolError:
                raise
            except (Refusal, APIException, DjangoValidationError, TransformError) as exc:
                raise ToolError(_error_text(exc)) from None

        @functools.wraps(fn)
        async def run(**kwargs):
            return await sync_to_async(guarded)(**kwargs)

        return server.tool()(run)

    return decorator


def _environment():
    return current_credential.get().environment


def _image_summary(image: Image) -> dict:
    return {
        "id": str(image.id),
        "file_name": image.original_filename,
        "status": image.status,
        "mime_type": image.mime_type,
        "size_bytes": image.size_bytes,
        "created_at": image.created_at.isoformat(),
        "cdn_url": image.cdn_url,
    }


def _image_or_error(image_id: str) -> Image:
    try:
        image = (
            Image.objects.for_environment(_environment())
            .filter(pk=uuid.UUID(str(image_id)))
            .first()
        )
    except ValueError:
        image = None
    if image is None:
        raise ToolError(f"No image {image_id!s:.64} in this environment.")
    return image


def _moment(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ToolError(f"{name} must be an ISO 8601 date or date-time") from None
    return moment


@tool(IMAGES_READ)
def list_images(
    page: int = 1,
    limit: int = 20,
    name: str | None = None,
    tag: str | None = None,
    status: str | None = None,
    created_after: str | None = None,
    created_before: str | None = None,
) -> dict:
    """List or search the environment's images, newest first (limit 1-50 per page).

    name: part of the file name; tag: an exact tag; status: PENDING, PROCESSING, READY or
    QUARANTINE; created_after / created_before: ISO 8601 dates."""
    if page < 1 or not 1 <= limit <= MAX_LIMIT:
        raise ToolError(f"page must be >= 1 and limit between 1 and {MAX_LIMIT}")
    images = Image.objects.for_environment(_environment()).newest_first()
    if name:
        images = images.filter(original_filename__icontains=name[:255])
    if tag:
        images = images.tagged(tag[:255])
    if status:
        if status not in ImageStatus.values:
            raise ToolError(f"status must be one of {', '.join(ImageStatus.values)}")
        images = images.filter(status=status)
    after, before = (
        _moment(created_after, "created_after"),
        _moment(created_before, "created_before"),
    )
    if after:
        images = images.filter(created_at__gte=after)
    if before:
        images = images.filter(created_at__lt=before)
    total = images.count()
    start = (page - 1) * limit
    rows = [_image_summary(image) for image in images.with_environment()[start : start + limit]]
    return {
        "images": rows,
        "page": page,
        "limit": limit,
        "total": total,
        "next_page": page + 1 if start + limit < total else None,
    }


@tool(IMAGES_READ)
def get_image(image_id: str) -> dict:
    """Inspect one image: its status, size, dimensions, tags and metadata."""
    image = _image_or_error(image_id)
    summary = _image_summary(image)
    summary.update(
        {
            "width": getattr(image, "width", None),
            "height": getattr(image, "height", None),
            "tags": list(getattr(image, "tag_names", None) or []),
            "custom_metadata": image.custom_metadata,
            "file_path": image.file_path,
        }
    )
    return summary


@tool(IMAGES_WRITE)
def delete_image(image_id: str) -> dict:
    """Delete one image (its CDN URLs stop serving it)."""
    image = _image_or_error(image_id)
    image_delete(environment=_environment(), image_id=image.id)
    return {"deleted": str(image.id)}


@tool(IMAGES_WRITE)
def upload_image_from_url(url: str, file_name: str | None = None) -> dict:
    """Upload an image fetched from a public http(s) URL; it is then verified in the background."""
    image = image_create_from_url(access=current_access.get(), url=url, file_name=file_name)
    return _image_summary(image)


@tool(IMAGES_READ)
def build_transformation_url(
    image_id: str, params: dict[str, str], preset: str | None = None
) -> dict:
    """A CDN URL for a variant of the image, e.g. params {"width": "200", "format": "webp"}.

    The parameters are checked by the delivery parser, so a URL returned here renders."""
    image = _image_or_error(image_id)
    pairs = [(str(k), str(v)) for k, v in params.items()]
    parse_transform(pairs, preset)
    base = image.cdn_url + (f"@{preset}" if preset else "")
    return {"url": f"{base}?{urlencode(pairs)}" if pairs else base}


@tool(IMAGES_WRITE)
def create_bulk_download(image_ids: list[str]) -> dict:
    """Start building a ZIP of up to the allowed number of READY images; returns the job."""
    if not 1 <= len(image_ids) <= 1000:
        raise ToolError("image_ids must hold 1 to 1000 image ids")
    try:
        ids = [uuid.UUID(str(value)) for value in image_ids]
    except ValueError:
        raise ToolError("image_ids must be image ids (UUIDs)") from None
    job = download_job_create(environment=_environment(), image_ids=ids)
    return {"job_id": str(job.id), "status": job.status}


@tool(IMAGES_READ)
def get_metrics(
    date_start: str | None = None,
    date_end: str | None = None,
    interval: str | None = None,
    tz: str | None = None,
) -> dict:
    """Totals for a period (uploads, bytes, requests…) compared with the period before."""
    query = QueryDict(mutable=True)
    for key, value in {
        "date_start": date_start,
        "date_end": date_end,
        "interval": interval,
        "tz": tz,
    }.items():
        if value is not None:
            query[key] = value
    metrics = metrics_range_from_query(query)
    return _plain(metrics_stats(_environment(), metrics))


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


@tool(IMAGES_READ)
def list_cors_origins() -> dict:
    """The browser origins allowed to call the Client-Key endpoints."""
    origins = CorsOrigin.objects.for_environment(_environment()).newest_first()[:100]
    return {"cors_origins": [{"id": str(o.id), "pattern": o.pattern} for o in origins]}


@tool(SETTINGS_WRITE)
def add_cors_origin(pattern: str) -> dict:
    """Allow a browser origin, e.g. "https://app.example.com" or "https://*.example.com"."""
    origin = cors_origin_create(environment=_environment(), pattern=pattern)
    return {"id": str(origin.id), "pattern": origin.pattern}
