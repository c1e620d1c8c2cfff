"""ImageKit's error shape, at this edge only: ``{"message", "help"}`` with its HTTP status.

Both SDKs (imagekitio, @imagekit/nodejs) retry 408, 409, 429 and 5xx twice unless the
answer carries ``x-should-retry: false``; a conflict is not cured by retrying, so every 409
here says so.
"""

from django.http import JsonResponse

from imgwire_site import domain
from imgwire_site.api.errors import DomainError, RequestValidationError
from imgwire_site.domain import Refusal

HELP = "Imgwire speaks ImageKit's upload API; see docs/compat-imagekit.md of your Imgwire."


class ImageKitError(Exception):
    def __init__(self, status: int, message: str, *, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        if status == 409:
            self.headers["x-should-retry"] = "false"


def bad_request(message: str) -> ImageKitError:
    return ImageKitError(400, message)


def error_response(error: ImageKitError) -> JsonResponse:
    response = JsonResponse(
        {"message": error.message, "help": HELP}, status=error.status, headers=error.headers
    )
    response["Cache-Control"] = "no-store"
    return response


# A neutral refusal's code → ImageKit's status. Anything not listed is a 400: the request
# was refused for what it said, and retrying it unchanged will not help.
STATUS = {
    domain.TOO_LARGE: 413,
    domain.LENGTH_OVER_DECLARED: 413,
    domain.QUOTA_EXCEEDED: 403,
    domain.ACCOUNT_INACTIVE: 403,
    domain.FORBIDDEN: 403,
    domain.RATE_LIMITED: 429,
    domain.INVALID_TOKEN: 401,
    domain.CONFLICT: 409,
    domain.NOT_FOUND: 404,
}


def from_refusal(refusal: Refusal) -> ImageKitError:
    """Chosen by the refusal's code, never by its sentence, which is passed on (with its
    Retry-After, if any)."""
    return ImageKitError(
        STATUS.get(refusal.code, 400), refusal.message, headers=dict(refusal.headers or {})
    )


def from_imgwire(error: Exception) -> ImageKitError:
    """The ImageKit answer for a refusal of the shared services, or of the two Resource API
    classes code outside them still raises (the origin check, request parsers)."""
    if isinstance(error, Refusal):
        return from_refusal(error)
    if isinstance(error, RequestValidationError):
        first = error.errors[0]
        return bad_request(str(first.get("msg", "The request is invalid.")))
    if isinstance(error, DomainError):
        status = getattr(error, "status_code", 400) or 400
        # ImageKit answers plan limits with 403; its SDKs know no 402.
        return ImageKitError(403 if status == 402 else status, str(error.detail))
    raise error
