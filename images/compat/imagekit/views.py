"""ImageKit's upload endpoints: thin views over images.compat.imagekit.services.

Plain Django views (the protocol is multipart forms), answering every refusal in ImageKit's
error shape (errors.py) and nothing else.
"""

import functools

from django.core.exceptions import BadRequest, RequestDataTooBig, TooManyFieldsSent
from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt

from domains.enforcement import origin_check
from images.compat.imagekit.auth import (
    access_for_basic,
    access_for_jwt,
    access_for_signature,
)
from images.compat.imagekit.errors import (
    ImageKitError,
    bad_request,
    error_response,
    from_imgwire,
)
from images.compat.imagekit.forms import upload_parse
from images.compat.imagekit.services import (
    imagekit_post_enqueue,
    imagekit_settled,
    imagekit_upload,
)
from images.compat.imagekit.sources import (
    Incoming,
    incoming_from_text,
    pre_transformation_check,
)
from images.compat.imagekit.wire import upload_response
from imgwire_site.api.errors import DomainError, RequestValidationError
from imgwire_site.domain import Refusal

# The largest request body taken (the file and its fields); keys' own limits apply within.
MAX_BODY = 101 * 1024 * 1024


def imagekit_endpoint(view):
    """csrf-exempt (no cookies are read), POST only, ImageKit's error shape."""

    @csrf_exempt
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            if request.method != "POST":
                raise ImageKitError(
                    405, f"HTTP method {request.method[:10]} is not allowed: uploads are POSTs."
                )
            return view(request, *args, **kwargs)
        except ImageKitError as error:
            return error_response(error)
        except (Refusal, RequestValidationError, DomainError) as error:
            return error_response(from_imgwire(error))

    return wrapper


def _form(request):
    length = request.META.get("CONTENT_LENGTH") or "0"
    if length.isdigit() and int(length) > MAX_BODY:
        raise ImageKitError(413, "The request is too large: files may be up to 100 MiB.")
    try:
        data, files = request.POST, request.FILES
    except TooManyFieldsSent:
        raise bad_request("The request has too many form fields.") from None
    except RequestDataTooBig:
        raise ImageKitError(
            413,
            "The form fields are too large: send a big file as a binary file part, not as "
            "base64 text.",
        ) from None
    except (MultiPartParserError, BadRequest, UnicodeDecodeError, ValueError):
        raise bad_request("The request must be multipart/form-data.") from None
    for name, values in data.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            raise bad_request("Null characters are not allowed in the request's fields.")
    return data, files


def _client_side(data) -> bool:
    """The server SDKs send their Basic credentials on every request, client-side
    signatures included: the signature fields, when present, are what authenticates."""
    return any(data.get(name) for name in ("publicKey", "signature"))


def _caller(request, data, *, version: int):
    """The Access of the request and whether it proved itself by a signature."""
    if version == 2 and data.get("token"):
        access, signed = access_for_jwt(data["token"], data), True
    elif version == 1 and _client_side(data):
        access, signed = access_for_signature(data), True
    else:
        access, signed = access_for_basic(request.META.get("HTTP_AUTHORIZATION", "")), False
    if access.key is not None:
        origin_check(request, access)
    return access, signed


def _incoming(data, files) -> Incoming:
    part = files.get("file")
    if part is not None:
        return Incoming(stream=part, size=part.size, content_type=(part.content_type or "").lower())
    text = data.get("file")
    if not text:
        raise bad_request("Missing file parameter for upload.")
    return incoming_from_text(text)


def _upload(request, *, version: int):
    data, files = _form(request)
    access, signed = _caller(request, data, version=version)
    upload = upload_parse(data)
    pre = pre_transformation_check(upload.pre)
    image = imagekit_upload(
        access=access, upload=upload, incoming=_incoming(data, files), signed=signed, pre=pre
    )
    image = imagekit_settled(image)
    imagekit_post_enqueue(image, upload.post)
    response = JsonResponse(upload_response(image, upload.response_fields))
    response["Cache-Control"] = "no-store"
    return response


@imagekit_endpoint
def upload_v1(request):
    return _upload(request, version=1)


@imagekit_endpoint
def upload_v2(request):
    return _upload(request, version=2)
