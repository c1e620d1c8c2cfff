"""The one error the services raise: a neutral, typed refusal.

A service says *what* was refused (``code``), *which input* it concerns (``field``), the
number it was held to (``limit``) and a sentence for a person (``message``). It never says
how a protocol answers: the Resource API (imgwire_site/api/errors.py) and Uploadcare's
Upload API (images/compat/uploadcare/errors.py) each map ``code``/``field`` to their own
status and error names at their edge, so no protocol reads another's wire format.
"""

from collections.abc import Callable
from typing import ClassVar

# The codes. Stable strings: edges and tests key their tables on them.
INVALID_VALUE = "invalid_value"  # a field's value is malformed (e.g. a file name without extension)
REQUIRED = "required"  # a field this request needs is absent
FILE_TYPE_NOT_ACCEPTED = "file_type_not_accepted"  # not an accepted image type, or not the key's
TOO_LARGE = "too_large"  # over a byte limit (``limit``); with a field, the declared size
QUOTA_EXCEEDED = "quota_exceeded"  # a plan limit of the organization is used up
ACCOUNT_INACTIVE = "account_inactive"  # the organization is blocked or its subscription lapsed
RATE_LIMITED = "rate_limited"  # too many at once; ``headers`` carries Retry-After
INVALID_TOKEN = "invalid_token"  # an upload token is missing, expired, used or foreign
CONFLICT = "conflict"  # the request contradicts existing state (idempotency, one PUT, …)
NOT_FOUND = "not_found"  # the thing named does not exist (for this caller)
FORBIDDEN = "forbidden"  # the caller may not touch this resource
# The signed upload URL's own checks (images/services/ingest.py).
SIGNATURE_INVALID = "signature_invalid"
SIGNATURE_EXPIRED = "signature_expired"
CONTENT_TYPE_MISMATCH = "content_type_mismatch"  # not the type the upload was created with
LENGTH_REQUIRED = "length_required"  # no usable Content-Length
LENGTH_OVER_DECLARED = "length_over_declared"  # longer than the declared size (``limit``)
LENGTH_UNDER_DECLARED = "length_under_declared"  # shorter than the declared size (``limit``)
EMPTY = "empty"  # a body with no bytes
UPLOAD_INTERRUPTED = "upload_interrupted"  # the bytes did not all arrive; send them again
HASH_MISMATCH = "hash_mismatch"  # the bytes do not hash to the declared sha256
# Fetching a remote source (images/services/remote.py).
NOT_AN_IMAGE = "not_an_image"  # the source's bytes are no accepted image
FETCH_FAILED = "fetch_failed"  # ``reason``: one of images/remote/fetcher.py's ERROR_TYPES

CODES = frozenset(
    value for name, value in dict(globals()).items() if name.isupper() and isinstance(value, str)
)


class Refusal(Exception):
    """A request the domain refuses. ``headers`` are hints every protocol may pass on
    (Retry-After); ``reason`` is a finer code from the component that refused, when it has
    its own enumeration (the remote fetcher's failure kinds)."""

    # Transitional: callers written against the Resource API's error classes (the dashboard,
    # the delivery view, older tests) still ``except PaymentRequiredError``. That edge
    # registers a resolver so a refusal is also an instance of the class it used to be;
    # the mapping itself never looks at the class, only at ``code`` and ``field``.
    _legacy_class: ClassVar[Callable[[str, str | None], type | None] | None] = None

    def __new__(cls, code: str, *args, **kwargs):
        target = cls
        resolver = Refusal._legacy_class
        if cls is Refusal and resolver is not None:
            target = resolver(code, kwargs.get("field")) or cls
        return super().__new__(target, code, *args)

    def __init__(
        self,
        code: str,
        message: str,
        *,
        field: str | None = None,
        limit: int | None = None,
        reason: str | None = None,
        headers: dict | None = None,
    ):
        if code not in CODES:
            raise ValueError(f"Unknown refusal code {code!r}")
        Exception.__init__(self, message)
        self.code = code
        self.message = message
        self.field = field
        self.limit = limit
        self.reason = reason
        self.headers = dict(headers or {})

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"Refusal({self.code!r}, {self.message!r}, field={self.field!r})"
