"""Uploadcare's error shape and codes (the Upload API reference's table), at this edge only.

Every refusal answers ``{"error": {"content", "status_code", "error_code"}}`` with the
vendor's HTTP status: @uploadcare/upload-client reads ``error_code`` from it, and
pyuploadcare shows the body as its message, so the code is named there too.
"""

from django.http import JsonResponse

from images.services.ingest import IngestRefused
from imgwire_site.api.errors import (
    DomainError,
    PaymentRequiredError,
    RateLimitedError,
    RequestValidationError,
    ResourceNotAuthorizedError,
)

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


# Which field of an Imgwire upload refusal means which Uploadcare code.
_FIELD_CODES = {
    "file_name": "FileTypeForbiddenError",
    "mime_type": "FileTypeForbiddenError",
    "content_length": "FileSizeLimitExceededError",
    "custom_metadata": "BaseViewsError",
}


def from_imgwire(error: Exception) -> UploadcareError:
    """The Uploadcare code for a refusal of the shared upload services.

    Matched on the error's class and the field it names (structured data), never on its
    sentence, which is passed on as the content.
    """
    if isinstance(error, RequestValidationError):
        first = error.errors[0]
        field = first["loc"][-1] if first.get("loc") else ""
        return UploadcareError(_FIELD_CODES.get(str(field), "BaseViewsError"), first["msg"])
    if isinstance(error, PaymentRequiredError):
        return UploadcareError("UploadFailedError", str(error.detail))
    if isinstance(error, RateLimitedError):
        return UploadcareError("RequestThrottledError", str(error.detail), headers=error.headers)
    if isinstance(error, ResourceNotAuthorizedError):
        return UploadcareError("UploadFailedError", str(error.detail))
    if isinstance(error, IngestRefused):
        if error.status == 413:
            return UploadcareError("FileSizeLimitExceededError", error.message)
        return UploadcareError("UploadFailedError", error.message)
    if isinstance(error, DomainError):
        return UploadcareError("UploadFailedError", str(error.detail))
    raise error
