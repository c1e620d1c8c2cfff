"""Uploadcare's error shape and codes (the Upload API reference's table), at this edge only.

Every refusal answers ``{"error": {"content", "status_code", "error_code"}}`` with the
vendor's HTTP status: @uploadcare/upload-client reads ``error_code`` from it, and
pyuploadcare shows the body as its message, so the code is named there too.
"""

from django.http import JsonResponse

from imgwire_site import domain
from imgwire_site.api.errors import DomainError, RequestValidationError
from imgwire_site.domain import Refusal

# error_code -> HTTP status, as the reference lists them (the subset this edge answers).
STATUS = {
    "AccountBlockedError": 403,
    "AccountLimitsExceededError": 403,
    "BaseViewsError": 400,
    "FileIdInvalidError": 400,
    "FileIdRequiredError": 400,
    "FileMetadataKeyDuplicatedError": 400,
    "FileMetadataKeyEmptyError": 400,
    "FileMetadataKeyForbiddenError": 400,
    "FileMetadataKeyLengthTooBigError": 400,
    "FileMetadataKeysNumberTooBigError": 400,
    "FileMetadataValueEmptyError": 400,
    "FileMetadataValueForbiddenError": 400,
    "FileMetadataValueLengthTooBigError": 400,
    "FileNotFoundError": 404,
    "FileRequiredError": 400,
    "FileSizeLimitExceededError": 400,
    "FileTypeForbiddenError": 400,
    "FilesNumberLimitExceededError": 400,
    "GroupFileURLParsingFailedError": 400,
    "GroupFilesInvalidError": 400,
    "GroupFilesNotFoundError": 400,
    "GroupIdRequiredError": 400,
    "GroupNotFoundError": 404,
    "MethodNotAllowedError": 405,
    "MultipartFileAlreadyUploadedError": 400,
    "MultipartFileCompletionFailedError": 400,
    "MultipartFileIdRequiredError": 400,
    "MultipartFileNotFoundError": 404,
    "MultipartFileSizeLimitExceededError": 400,
    "MultipartFileSizeTooSmallError": 400,
    "MultipartPartSizeInvalidError": 400,
    "MultipartPartSizeTooBigError": 400,
    "MultipartPartSizeTooSmallError": 400,
    "MultipartSizeInvalidError": 400,
    "MultipartUploadSizeTooSmallError": 400,
    "NullCharactersForbiddenError": 400,
    "PostRequestParserFailedError": 400,
    "ProjectPublicKeyInvalidError": 403,
    "ProjectPublicKeyRequiredError": 403,
    "RequestFiledsNumberLimitExceededError": 400,
    "RequestParamRequiredError": 400,
    "RequestSizeLimitExceededError": 413,
    "RequestThrottledError": 429,
    "SignatureExpirationError": 403,
    "SignatureExpirationInvalidError": 400,
    "SignatureExpirationRequiredError": 400,
    "SignatureInvalidError": 403,
    "SignatureRequiredError": 400,
    "SourceURLRequiredError": 400,
    "URLParsingFailedError": 400,
    "URLSchemeRequiredError": 400,
    "URLSchemeInvalidError": 400,
    "URLHostRequiredError": 400,
    "TokenRequiredError": 400,
    "UUIDInvalidError": 400,
    "UploadFailedError": 403,
}


class UploadcareError(Exception):
    def __init__(self, code: str, content: str, *, headers: dict | None = None):
        super().__init__(content)
        self.code = code
        self.status = STATUS[code]
        self.content = content
        self.headers = headers or {}


def error_response(error: UploadcareError) -> JsonResponse:
    body = {
        "error": {"content": error.content, "status_code": error.status, "error_code": error.code}
    }
    response = JsonResponse(body, status=error.status, headers=error.headers)
    response["Cache-Control"] = "no-store"
    return response


# Which field of a refusal of the shared upload services means which Uploadcare code.
FIELD_CODES = {
    "file_name": "FileTypeForbiddenError",
    "mime_type": "FileTypeForbiddenError",
    "content_length": "FileSizeLimitExceededError",
    "custom_metadata": "BaseViewsError",
    "tags": "BaseViewsError",
}

# Which neutral code of a refusal that names no field means which Uploadcare code; every
# other code is UploadFailedError (the reference's catch-all for a refused upload, and
# what its clients show for 402-style plan sentences).
CODE_CODES = {
    domain.TOO_LARGE: "FileSizeLimitExceededError",
    domain.LENGTH_OVER_DECLARED: "FileSizeLimitExceededError",
    domain.RATE_LIMITED: "RequestThrottledError",
}

# from_url/status/: the remote fetcher's failure kinds (the refusal's ``reason``).
FETCH_ERROR_CODES = {
    "BlockedAddressError": "URLHostPrivateIPForbiddenError",
    "InvalidUrlError": "URLParsingFailedError",
    "UnsupportedSchemeError": "URLSchemeInvalidError",
    "UnresolvableHostError": "HostnameNotFoundError",
    "TooManyRedirectsError": "URLRedirectsLimitExceededError",
    "SourceHTTPError": "DownloadFileHTTPClientError",
    "SourceConnectionError": "DownloadFileHTTPNetworkError",
    "TooSlowError": "DownloadFileTimeLimitExceededError",
    "TooLargeError": "DownloadFileSizeLimitExceededError",
}


def from_refusal(refusal: Refusal) -> UploadcareError:
    """The Uploadcare answer to a Refusal: chosen by its ``field``, else its ``code``, never
    by its sentence, which is passed on as the content (with its Retry-After, if any)."""
    if refusal.field is not None:
        code = FIELD_CODES.get(refusal.field, "BaseViewsError")
    else:
        code = CODE_CODES.get(refusal.code, "UploadFailedError")
    return UploadcareError(code, refusal.message, headers=refusal.headers)


def fetch_status_code(refusal: Refusal) -> str:
    """The ``error_code`` a failed from_url job reports for the refusal that ended it."""
    if refusal.code == domain.NOT_AN_IMAGE:
        return "DownloadFileValidationFailedError"
    if refusal.code == domain.FETCH_FAILED:
        return FETCH_ERROR_CODES.get(refusal.reason or "", "DownloadFileError")
    if refusal.code in (domain.QUOTA_EXCEEDED, domain.ACCOUNT_INACTIVE):
        return "UploadFailedError"
    return "DownloadFileError"


def from_imgwire(error: Exception) -> UploadcareError:
    """The Uploadcare code for a refusal of the shared upload services.

    Refusals map by code and field. The two Resource API classes still accepted are what
    code outside the services raises (the request parsers' 422 lists, origin checks).
    """
    if isinstance(error, Refusal):
        return from_refusal(error)
    if isinstance(error, RequestValidationError):
        first = error.errors[0]
        field = first["loc"][-1] if first.get("loc") else ""
        return UploadcareError(FIELD_CODES.get(str(field), "BaseViewsError"), first["msg"])
    if isinstance(error, DomainError):
        return UploadcareError("UploadFailedError", str(error.detail))
    raise error
