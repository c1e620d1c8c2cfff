"""Uploadcare's Upload API endpoints: thin views over images.compat.uploadcare.services.

Plain Django views (the protocol is multipart forms and query strings, not JSON), each
answering refusals in Uploadcare's error shape (errors.py) and nothing else.
"""

import functools
import uuid

from django.core.exceptions import BadRequest, RequestDataTooBig, TooManyFieldsSent
from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt

from domains.enforcement import origin_check
from images.compat.uploadcare.auth import access_for_public_key, check_signature
from images.compat.uploadcare.errors import UploadcareError, error_response, from_imgwire
from images.compat.uploadcare.forms import metadata_from, refuse_nul, tags_from
from images.compat.uploadcare.from_url import (
    check_source_url,
    fetch_for_status,
    fetch_status,
    remembered_file,
    uploadcare_fetch_create,
)
from images.compat.uploadcare.groups import (
    file_fields,
    group_info,
    uploadcare_group_create,
    uploadcare_group_of,
)
from images.compat.uploadcare.multipart import (
    uploadcare_multipart_complete,
    uploadcare_multipart_part,
    uploadcare_multipart_start,
)
from images.compat.uploadcare.services import (
    UploadedPart,
    uploadcare_file_of,
    uploadcare_upload_base,
)
from images.compat.uploadcare.wire import file_info
from images.models import ImageStatus
from imgwire_site.api.errors import DomainError, RequestValidationError
from imgwire_site.domain import Refusal

# Uploadcare's own cap for direct uploads; larger files use multipart uploads.
MAX_DIRECT_BYTES = 100 * 1024 * 1024
# Room for the form fields and part headers around the file itself.
MAX_DIRECT_BODY = MAX_DIRECT_BYTES + 1024 * 1024
MAX_FILES_PER_REQUEST = 50


def uploadcare_endpoint(*methods):
    """csrf-exempt (no cookies are read), one method each, Uploadcare's error shape."""

    def decorator(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                if request.method not in methods:
                    raise UploadcareError(
                        "MethodNotAllowedError",
                        f"HTTP method {request.method} is not allowed for {request.path[:100]}",
                    )
                # Query values are looked up (pub_key, group_id): PostgreSQL refuses NUL.
                refuse_nul(request.GET)
                return view(request, *args, **kwargs)
            except UploadcareError as error:
                return error_response(error)
            except (Refusal, RequestValidationError, DomainError) as error:
                return error_response(from_imgwire(error))

        return wrapper

    return decorator


def _caller(request, data, field: str):
    """The environment a request's public key uploads into, refused for a browser on an
    origin the environment does not list (as standard_upload is)."""
    access = access_for_public_key(data.get(field), field)
    origin_check(request, access)
    return access


def _form(request):
    """request.POST and request.FILES, with Django's parser refusals in Uploadcare's terms."""
    if request.method == "POST":
        length = request.META.get("CONTENT_LENGTH") or "0"
        if length.isdigit() and int(length) > MAX_DIRECT_BODY:
            raise UploadcareError(
                "RequestSizeLimitExceededError",
                "The size of the request is too large: direct uploads take files up to "
                "100 MiB; use multipart uploads for larger ones.",
            )
    try:
        return request.POST, request.FILES
    except TooManyFieldsSent:
        raise UploadcareError(
            "RequestFiledsNumberLimitExceededError",
            "The request contains too many HTTP POST fields.",
        ) from None
    except RequestDataTooBig:
        raise UploadcareError(
            "RequestSizeLimitExceededError", "The size of the request is too large."
        ) from None
    except (MultiPartParserError, BadRequest, UnicodeDecodeError, ValueError):
        raise UploadcareError(
            "PostRequestParserFailedError",
            "HTTP POST request parsing failed: send multipart/form-data or "
            "application/x-www-form-urlencoded.",
        ) from None


@uploadcare_endpoint("POST")
def base(request):
    data, files = _form(request)
    refuse_nul(data)
    access = _caller(request, data, "UPLOADCARE_PUB_KEY")
    signed = check_signature(access, data.get("signature"), data.get("expire"))
    metadata = metadata_from(data)
    tags = tags_from(data)
    parts = [(field, upload) for field, uploads in files.lists() for upload in uploads]
    if not parts:
        raise UploadcareError(
            "FileRequiredError", "There should be a file: send it as a multipart file part."
        )
    if len(parts) > MAX_FILES_PER_REQUEST:
        raise UploadcareError(
            "FilesNumberLimitExceededError",
            f"There are too many files: at most {MAX_FILES_PER_REQUEST} per request.",
        )
    answer = {}
    for field, upload in parts:
        part = UploadedPart(
            field=field,
            name=upload.name or field,
            content_type=(upload.content_type or "").lower(),
            size=upload.size,
            stream=upload,
        )
        image = uploadcare_upload_base(
            access=access,
            part=part,
            store=data.get("UPLOADCARE_STORE"),
            metadata=metadata,
            signed=signed,
            tags=tags,
        )
        answer[field] = str(image.id)
    return JsonResponse(answer)


@uploadcare_endpoint("GET")
def info(request):
    access = _caller(request, request.GET, "pub_key")
    file_id = request.GET.get("file_id", "")
    if not file_id:
        raise UploadcareError("FileIdRequiredError", "file_id is required.")
    try:
        parsed = uuid.UUID(file_id)
    except ValueError:
        raise UploadcareError("FileIdInvalidError", "file_id is invalid.") from None
    found = uploadcare_file_of(access, parsed)
    if found is None:
        raise UploadcareError("FileNotFoundError", "File is not found.")
    image, uploadcare_file = found
    if image.status == ImageStatus.QUARANTINE:
        # An error, not a file that is never ready: widgets poll info/ until is_ready.
        raise UploadcareError(
            "FileTypeForbiddenError",
            f"The file was refused when it was checked: {image.status_reason or 'not an image'}.",
        )
    is_stored = uploadcare_file.is_stored if uploadcare_file else True
    response = JsonResponse(file_info(image, is_stored=is_stored))
    response["Cache-Control"] = "no-store"
    return response


@uploadcare_endpoint("POST")
def multipart_start(request):
    data, _files = _form(request)
    refuse_nul(data)
    access = _caller(request, data, "UPLOADCARE_PUB_KEY")
    signed = check_signature(access, data.get("signature"), data.get("expire"))
    session, urls = uploadcare_multipart_start(
        access=access, data=data, metadata=metadata_from(data), signed=signed
    )
    return JsonResponse({"uuid": str(session.image_id), "parts": urls})


@uploadcare_endpoint("PUT")
def multipart_part(request, image_id, number):
    """A part PUT to the URL ``multipart/start/`` handed out; its signature is the
    credential (as for ``upload_url``), so it takes any Content-Type."""
    uploadcare_multipart_part(
        image_id=image_id,
        number=number,
        signature=request.GET.get("signature", ""),
        content_length=request.META.get("CONTENT_LENGTH"),
        stream=request,
    )
    return JsonResponse({})


@uploadcare_endpoint("POST")
def multipart_complete(request):
    data, _files = _form(request)
    refuse_nul(data)
    access = _caller(request, data, "UPLOADCARE_PUB_KEY")
    raw = data.get("uuid", "")
    if not raw:
        raise UploadcareError("MultipartFileIdRequiredError", "uuid is required.")
    try:
        image_id = uuid.UUID(raw)
    except ValueError:
        raise UploadcareError("UUIDInvalidError", "uuid is invalid.") from None
    image = uploadcare_multipart_complete(access=access, image_id=image_id)
    return JsonResponse(file_info(image, is_stored=image.uploadcare.is_stored))


def _params(request):
    """upload-client sends from_url/'s parameters in the query string with an empty body;
    pyuploadcare sends a form. Both are read, the body winning."""
    data, _files = _form(request)
    merged = request.GET.copy()
    for name, values in data.lists():
        merged.setlist(name, values)
    refuse_nul(merged)
    return merged


@uploadcare_endpoint("POST")
def from_url(request):
    data = _params(request)
    access = _caller(request, data, "pub_key")
    # Refuses when the key needs a signature; from_url takes no upload token either way.
    check_signature(access, data.get("signature"), data.get("expire"))
    source_url = check_source_url(data.get("source_url"))
    metadata = metadata_from(data)
    check = data.get("check_URL_duplicates") == "1"
    save = data.get("save_URL_duplicates", "1" if check else "0") == "1"
    if check:
        image = remembered_file(access.environment, source_url)
        if image is not None:
            found = uploadcare_file_of(access, image.id)
            if found is not None:
                image, row = found
                info = file_info(image, is_stored=row.is_stored if row else True)
                return JsonResponse({"type": "file_info", **info})
    fetch = uploadcare_fetch_create(
        access=access, source_url=source_url, data=data, metadata=metadata, save_duplicate=save
    )
    return JsonResponse({"type": "token", "token": str(fetch.token)})


@uploadcare_endpoint("GET")
def from_url_status(request):
    """The token is the credential (a random UUID handed to the caller), as on Uploadcare."""
    raw = request.GET.get("token", "")
    if not raw:
        raise UploadcareError("TokenRequiredError", "token is required.")
    try:
        token = uuid.UUID(raw)
    except ValueError:
        return JsonResponse({"status": "unknown"})
    fetch = fetch_for_status(token)
    if fetch is None:
        return JsonResponse({"status": "unknown"})
    response = JsonResponse(fetch_status(fetch))
    response["Cache-Control"] = "no-store"
    return response


@uploadcare_endpoint("POST")
def group(request):
    data = _params(request)
    access = _caller(request, data, "pub_key")
    check_signature(access, data.get("signature"), data.get("expire"))
    created = uploadcare_group_create(access=access, references=file_fields(data))
    return JsonResponse(group_info(created))


@uploadcare_endpoint("GET")
def group_info_view(request):
    access = _caller(request, request.GET, "pub_key")
    found = uploadcare_group_of(access, request.GET.get("group_id"))
    response = JsonResponse(group_info(found))
    response["Cache-Control"] = "no-store"
    return response
