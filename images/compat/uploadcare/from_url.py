"""``from_url/`` and ``from_url/status/``: an asynchronous fetch job on the broker.

The request answers a token at once; a worker fetches through the SSRF-safe fetcher of
``upload_via_url`` (private and metadata addresses refused at every hop), and the status
moves ``waiting`` → ``progress`` → ``success`` (with the file info) or ``error``.
"""

import hashlib
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.utils import timezone

from images.compat.uploadcare.errors import UploadcareError, fetch_status_code
from images.compat.uploadcare.models import (
    FetchStatus,
    UploadcareFetch,
    UploadcareFile,
    UploadcareSourceUrl,
)
from images.compat.uploadcare.services import TEMPORARY_FOR, store_decision
from images.models import Image
from images.services.remote import image_create_from_url
from imgwire_site.domain import Refusal
from imgwire_site.tasks import enqueue_on_commit
from keys.authentication import Access

MAX_URL_LENGTH = 2048


def _url_sha256(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


def check_source_url(url: str | None) -> str:
    """What can be said about the URL before fetching it (the rest is the fetch's)."""
    if not url:
        raise UploadcareError("SourceURLRequiredError", "source_url is required.")
    if len(url) > MAX_URL_LENGTH:
        raise UploadcareError(
            "URLParsingFailedError", f"Failed to parse URL: longer than {MAX_URL_LENGTH}."
        )
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise UploadcareError("URLParsingFailedError", "Failed to parse URL.") from None
    if not parts.scheme:
        raise UploadcareError("URLSchemeRequiredError", "No URL scheme supplied.")
    if parts.scheme.lower() not in ("http", "https"):
        raise UploadcareError(
            "URLSchemeInvalidError", "Invalid URL scheme: only http and https are fetched."
        )
    if not host:
        raise UploadcareError("URLHostRequiredError", "No URL host supplied.")
    return url


def remembered_file(environment, url: str) -> Image | None:
    row = (
        UploadcareSourceUrl.objects.filter(
            environment=environment,
            url_sha256=_url_sha256(url),
            image__deleted_at__isnull=True,
        )
        .select_related("image__environment")
        .first()
    )
    return row.image if row else None


def uploadcare_fetch_create(
    *, access: Access, source_url: str, data, metadata: dict, save_duplicate: bool
) -> UploadcareFetch:
    from images.compat.uploadcare.tasks import fetch_from_url

    with transaction.atomic():
        fetch = UploadcareFetch.objects.create(
            environment=access.environment,
            key=access.key,
            source_url=source_url,
            filename=(data.get("filename") or "")[:255],
            store=(data.get("store") or "")[:4],
            metadata=metadata,
            save_duplicate=save_duplicate,
        )
        enqueue_on_commit(fetch_from_url, str(fetch.token))
    return fetch


def _claim(token) -> UploadcareFetch | None:
    claimed = UploadcareFetch.objects.filter(token=token, status=FetchStatus.WAITING).update(
        status=FetchStatus.PROGRESS, started_at=timezone.now()
    )
    if claimed != 1:
        return None
    return UploadcareFetch.objects.select_related("environment", "key").get(token=token)


def _fail(fetch: UploadcareFetch, code: str, message: str) -> None:
    UploadcareFetch.objects.filter(pk=fetch.pk).update(
        status=FetchStatus.ERROR, error=message[:500], error_code=code
    )


def uploadcare_fetch_run(token) -> None:
    """The worker's part; a second delivery of the same message does nothing."""
    fetch = _claim(token)
    if fetch is None:
        return
    if fetch.key.is_revoked:
        _fail(fetch, "ProjectPublicKeyInvalidError", "The public key was revoked.")
        return
    access = Access(environment=fetch.environment, key=fetch.key)
    try:
        image = image_create_from_url(
            access=access,
            url=fetch.source_url,
            file_name=fetch.filename or None,
            custom_metadata=fetch.metadata or None,
            on_progress=lambda done, total: UploadcareFetch.objects.filter(pk=fetch.pk).update(
                done=done, total=total or 0
            ),
        )
    except Refusal as refusal:  # the source's or the plan's answer: final, not retried
        _fail(fetch, fetch_status_code(refusal), refusal.message)
        return
    except BaseException:
        # Not the source's fault (storage, database): the broker's retry may claim it again.
        UploadcareFetch.objects.filter(pk=fetch.pk).update(status=FetchStatus.WAITING)
        raise
    stored = store_decision(fetch.environment, fetch.store)
    now = timezone.now()
    with transaction.atomic():
        UploadcareFile.objects.get_or_create(
            image=image,
            defaults={
                "created_at": now,
                "stored_at": now if stored else None,
                "remove_after": None if stored else now + TEMPORARY_FOR,
            },
        )
        if fetch.save_duplicate:
            try:
                with transaction.atomic():
                    UploadcareSourceUrl.objects.update_or_create(
                        environment=fetch.environment,
                        url_sha256=_url_sha256(fetch.source_url),
                        defaults={"image": image},
                    )
            except IntegrityError:
                pass  # another fetch of the same URL remembered its file first
        UploadcareFetch.objects.filter(pk=fetch.pk).update(status=FetchStatus.SUCCESS, image=image)


def fetch_for_status(token) -> UploadcareFetch | None:
    """One query for a status poll (upload-client polls every 500 ms): the fetch with its
    image, the image's environment and custom domain (cdn_url) and its stored flag."""
    return (
        UploadcareFetch.objects.filter(token=token)
        .select_related("image__environment__custom_domain", "image__uploadcare")
        .first()
    )


def fetch_status(fetch: UploadcareFetch) -> dict:
    if fetch.status == FetchStatus.SUCCESS and fetch.image is not None:
        from images.compat.uploadcare.wire import file_info

        row = getattr(fetch.image, "uploadcare", None)
        is_stored = row.is_stored if row is not None else True
        return {"status": "success", **file_info(fetch.image, is_stored=is_stored)}
    if fetch.status == FetchStatus.ERROR:
        return {"status": "error", "error": fetch.error, "error_code": fetch.error_code}
    if fetch.status == FetchStatus.PROGRESS:
        # total is "unknown" when the source sent no length, as upload-client expects.
        return {"status": "progress", "done": fetch.done, "total": fetch.total or "unknown"}
    return {"status": "waiting"}
