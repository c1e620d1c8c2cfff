"""Uploadcare's credentials over Imgwire's: the public key is a Client Key; signatures are
HMAC-SHA256 by the environment's signing secret (compat.md, Credentials)."""

import hashlib
import hmac
import re
import time

from images.compat.uploadcare.errors import UploadcareError
from keys.authentication import Access
from keys.services import api_key_authenticate
from keys.signing import signing_secrets_usable

CLIENT_KEY_PREFIX = "ck_"
UNIX_SECONDS = re.compile(r"[0-9]{1,12}")


def access_for_public_key(public_key: str | None, field: str) -> Access:
    """The environment a public key uploads into; the key must be a live Client Key.

    A Server Key is refused here even though it is valid: it is a secret, and this field
    travels through browsers.
    """
    if not public_key:
        raise UploadcareError("ProjectPublicKeyRequiredError", f"{field} is required.")
    key = api_key_authenticate(public_key) if public_key.startswith(CLIENT_KEY_PREFIX) else None
    if key is None:
        raise UploadcareError(
            "ProjectPublicKeyInvalidError",
            f"{field} is invalid: use a Client Key (ck_…) of the environment, "
            "not a Server Key or a revoked key.",
        )
    return Access(environment=key.environment, key=key)


def check_signature(access: Access, signature: str | None, expire: str | None) -> bool:
    """Refuse a missing, expired or wrong signature when the Client Key requires signed
    uploads; True when the request was signed and checked.

    A key that accepts unsigned uploads ignores the fields, as Uploadcare does for a
    project without signed uploads: pyuploadcare signs every upload by default, and a
    wrong secret in such a team's settings must not start failing its uploads here.
    """
    if access.key.allow_unsigned_upload:
        return False
    if not signature:
        raise UploadcareError(
            "SignatureRequiredError",
            "`signature` is required: this key accepts signed uploads only "
            "(HMAC-SHA256 of `expire` with the environment's signing secret).",
        )
    if not expire:
        raise UploadcareError("SignatureExpirationRequiredError", "`expire` is required.")
    if not UNIX_SECONDS.fullmatch(expire):  # ASCII only: isdigit() takes fullwidth digits
        raise UploadcareError(
            "SignatureExpirationInvalidError", "`expire` must be a UNIX timestamp."
        )
    if int(expire) < time.time():
        raise UploadcareError("SignatureExpirationError", "Expired signature.")
    presented = signature.strip().lower()
    for secret in signing_secrets_usable(environment=access.environment):
        expected = hmac.new(secret.encode(), expire.encode(), hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected.encode(), presented.encode()):
            return True
    raise UploadcareError("SignatureInvalidError", "Invalid signature.")
