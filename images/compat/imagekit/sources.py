"""ImageKit's ``file`` field as bytes: a file part, base64 text, or a URL fetched with the
SSRF-safe fetcher; and ``transformation.pre`` applied to them before anything is stored."""

import base64
import binascii
import io
import os
import re
import tempfile
from dataclasses import dataclass

from django.conf import settings

from images.compat.imagekit.errors import bad_request
from images.compat.imagekit.pre_child import render_pre
from images.delivery.sandbox import SandboxFailure, run_sandboxed
from images.processing.limits import configured_max_pixels
from images.remote import FetchError, FetchLimits, open_remote
from images.transform.imagekit_syntax import to_query

BASE64_DATA_URI = re.compile(r"^data:[\w.+-]+/[\w.+-]+;base64,", re.I)
BASE64_TEXT = re.compile(r"^[A-Za-z0-9+/\s]*={0,2}\s*$")
# ImageKit aborts a URL download whose response headers take longer than this.
URL_HEADER_TIMEOUT_SECONDS = 8
# Fetched bodies stay in memory up to this size, then spill to a temporary file.
SPOOL_BYTES = 8 * 1024 * 1024
CHUNK = 256 * 1024


@dataclass
class Incoming:
    """The bytes of the ``file`` field, readable and seekable, with their size."""

    stream: object
    size: int
    content_type: str = ""


def incoming_from_text(text: str) -> Incoming:
    """A text ``file`` field: a URL when it looks like one, else base64 (a data URI or not)."""
    stripped = text.strip()
    if stripped.lower().startswith(("http://", "https://")):
        return incoming_from_url(stripped)
    payload = BASE64_DATA_URI.sub("", stripped, count=1)
    if not payload or not BASE64_TEXT.match(payload):
        raise bad_request(
            "file must be the file's bytes (a file part), its base64 encoding, or an http(s) URL."
        )
    try:
        data = base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError):
        raise bad_request("file is not valid base64.") from None
    if not data:
        raise bad_request("file is empty.")
    return Incoming(stream=io.BytesIO(data), size=len(data))


def _limits() -> FetchLimits:
    return FetchLimits(
        max_bytes=settings.IMGWIRE_URL_FETCH_MAX_BYTES,
        header_timeout=min(
            URL_HEADER_TIMEOUT_SECONDS, settings.IMGWIRE_URL_FETCH_HEADER_TIMEOUT_SECONDS
        ),
        total_deadline=settings.IMGWIRE_URL_FETCH_TIMEOUT_SECONDS,
        max_redirects=5,
        allowed_networks=settings.IMGWIRE_URL_FETCH_ALLOWED_NETWORKS,
    )


def incoming_from_url(url: str) -> Incoming:
    """The body at ``url``, fetched within the request (headers within 8 s, the whole body
    within IMGWIRE_URL_FETCH_TIMEOUT_SECONDS), refused addresses and all: a 400 naming why."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (returned)
    try:
        with open_remote(url, _limits()) as body:
            while chunk := body.read(CHUNK):
                spool.write(chunk)
    except FetchError as error:
        spool.close()
        raise bad_request(
            f"The file could not be downloaded from the URL: {error.message}"
        ) from None
    size = spool.tell()
    if size == 0:
        spool.close()
        raise bad_request("The URL answered with an empty body.")
    spool.seek(0)
    return Incoming(stream=spool, size=size)


def pre_transformation_check(pre: str | None):
    """The Imgwire query and preset of ``transformation.pre`` (Refusal naming what cannot be
    done), checked before any byte is fetched or stored."""
    return to_query(pre) if pre else None


def pre_transformed(incoming: Incoming, mime_type: str, query, preset) -> Incoming:
    """``incoming`` rendered once by the pre transformation, in the render sandbox (the
    bytes are untrusted: they are decoded nowhere else before verification)."""
    descriptor, path = tempfile.mkstemp(prefix="imgwire-imagekit-pre-")
    try:
        with os.fdopen(descriptor, "wb") as target:
            while chunk := incoming.stream.read(CHUNK):
                target.write(chunk)
        result = run_sandboxed(
            render_pre,
            {
                "source_path": path,
                "mime_type": mime_type,
                "query": list(query),
                "preset": preset,
                "max_output_pixels": settings.IMGWIRE_MAX_OUTPUT_PIXELS,
            },
            memory_bytes=settings.IMGWIRE_RENDER_MEMORY_BYTES,
            timeout=settings.IMGWIRE_RENDER_TIMEOUT_SECONDS,
            max_jobs=settings.IMGWIRE_RENDER_CHILD_MAX_JOBS,
            max_pixels=configured_max_pixels(),
        )
    except SandboxFailure as failure:
        raise bad_request(f"transformation.pre could not be applied: {failure.message}") from None
    finally:
        os.unlink(path)
    if "data" in result:
        return Incoming(io.BytesIO(result["data"]), result["size"], result["content_type"])
    spilled = open(result["path"], "rb")  # noqa: SIM115 (the caller's stream)
    os.unlink(result["path"])  # the open handle keeps it readable
    return Incoming(spilled, result["size"], result["content_type"])
