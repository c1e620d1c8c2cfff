"""ImageKit's credentials over Imgwire's (compat.md, Credentials).

- Server side: ``Authorization: Basic base64("<private key>:<anything>")``; the private key
  is the environment's signing secret, or a Server Key ``sk_…``.
- Client side (v1): ``publicKey`` (a Client Key) + ``token`` + ``expire`` + ``signature`` =
  hex HMAC-SHA1(private key, token + expire); ``expire`` under an hour ahead; each token
  used once, even when the request it came with failed.
- v2: ``token`` is an HS256 JWT signed with the private key, header ``kid`` = the public
  key, payload = exactly the fields sent (as strings) plus ``iat``/``exp``; used once too.
"""

import base64
import binascii
import hashlib
import hmac
import json
import random
import re
import time
from datetime import UTC, datetime

import jwt
from django.db import IntegrityError, transaction

from images.compat.imagekit.errors import ImageKitError, bad_request
from images.compat.imagekit.models import SpentToken
from keys.authentication import Access
from keys.crypto import decrypt
from keys.models import SigningSecret
from keys.services import api_key_authenticate
from keys.signing import PREFIX as SIGNING_SECRET_PREFIX
from keys.signing import signing_secrets_usable

CLIENT_KEY_PREFIX = "ck_"
SERVER_KEY_PREFIX = "sk_"
MAX_AHEAD_SECONDS = 3600
UNIX_SECONDS = re.compile(r"[0-9]{1,12}")
HEX_SHA1 = re.compile(r"[0-9a-fA-F]{40}")
# JWT claims that are the token's own, not a copy of a field sent.
JWT_OWN_CLAIMS = ("iat", "exp")
# One request in this many also forgets the tokens whose expire has passed.
FORGET_EVERY = 100

AUTH_FAILED = "Your account cannot be authenticated."


def _unauthenticated(detail: str) -> ImageKitError:
    return ImageKitError(401, f"{AUTH_FAILED} {detail}")


def _environment_of_signing_secret(secret: str):
    """The environment whose usable signing secret this is, or None.

    Secrets are stored encrypted, not hashed, so the lookup narrows by the last four
    characters (kept in clear for the dashboard) and compares the few candidates."""
    if not secret.startswith(SIGNING_SECRET_PREFIX) or len(secret) > 128:
        return None
    for row in (
        SigningSecret.objects.usable()
        .filter(last4=secret[-4:])
        .select_related("environment__organization")
    ):
        if hmac.compare_digest(decrypt(row.ciphertext).encode(), secret.encode()):
            return row.environment
    return None


def access_for_basic(header: str) -> Access:
    """The environment of a server-side upload (HTTP Basic, the private key as username)."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise _unauthenticated(
            "Send the private key as the username of HTTP Basic authentication, or upload "
            "from the client side with publicKey, token, expire and signature."
        )
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise _unauthenticated("The Basic credentials are not valid base64.") from None
    private_key = decoded.partition(":")[0]  # the password is a placeholder the SDKs send
    if private_key.startswith(SERVER_KEY_PREFIX):
        key = api_key_authenticate(private_key)
        if key is not None and key.is_server:
            return Access(environment=key.environment, key=key)
    else:
        environment = _environment_of_signing_secret(private_key)
        if environment is not None:
            return Access(environment=environment)
    raise _unauthenticated(
        "The private key is not this environment's signing secret nor a live Server Key."
    )


def access_for_public_key(public_key: str | None) -> Access:
    if not public_key:
        raise bad_request("Missing publicKey: client-side uploads send the Client Key.")
    key = api_key_authenticate(public_key) if public_key.startswith(CLIENT_KEY_PREFIX) else None
    if key is None:
        raise _unauthenticated(
            "publicKey must be a live Client Key (ck_…) of the environment; a Server Key is a "
            "secret and never travels through browsers."
        )
    return Access(environment=key.environment, key=key)


def _spend(access: Access, token: str, expires_at: float) -> None:
    """Record a token as used, in its own committed transaction: the upload that follows
    may fail, and the token stays spent (ImageKit's rule)."""
    try:
        with transaction.atomic():
            SpentToken.objects.create(
                environment=access.environment,
                token=token,
                expires_at=datetime.fromtimestamp(expires_at, tz=UTC),
            )
    except IntegrityError:
        shown = token if len(token) <= 64 else token[:16] + "…"
        raise bad_request(
            f"The token with value '{shown}' has been used before. We suggest using V4 UUIDs, "
            "or another random string with enough entropy to avoid collisions."
        ) from None
    if random.randrange(FORGET_EVERY) == 0:
        imagekit_tokens_forget_expired()


def imagekit_tokens_forget_expired(now=None) -> int:
    """Delete spent tokens whose expire has passed (their signatures are refused anyway)."""
    return SpentToken.objects.expired(now).delete()[0]


def _check_expire(expire: str | None, now: float) -> int:
    if (
        not expire
        or not UNIX_SECONDS.fullmatch(expire)
        or not (now <= int(expire) <= now + MAX_AHEAD_SECONDS)
    ):
        raise bad_request(
            "Your request contains invalid expire parameter. Expire parameter should be a Unix "
            "time in less than 1 hour into the future."
        )
    return int(expire)


def access_for_signature(data) -> Access:
    """A v1 client-side upload: every field present, the signature by a usable secret,
    the expiry within the hour, the token not seen before (then spent)."""
    access = access_for_public_key(data.get("publicKey"))
    token, signature = data.get("token") or "", data.get("signature") or ""
    for name, value in (("token", token), ("signature", signature)):
        if not value:
            raise bad_request(
                f"Missing {name} for upload: client-side uploads send token, expire and signature."
            )
    if len(token) > 128:
        raise bad_request("token may be at most 128 characters.")
    now = time.time()
    expire = _check_expire(data.get("expire"), now)
    presented = signature.strip().lower()
    valid = HEX_SHA1.fullmatch(presented) is not None and any(
        hmac.compare_digest(
            hmac.new(secret.encode(), f"{token}{expire}".encode(), hashlib.sha1).hexdigest(),
            presented,
        )
        for secret in signing_secrets_usable(environment=access.environment)
    )
    if not valid:
        raise bad_request(
            "Invalid signature: it must be the hex HMAC-SHA1 of token + expire with the "
            "private key (the environment's signing secret)."
        )
    _spend(access, token, expire)
    return access


def _as_sent(value) -> str:
    """A JWT claim as the form field it must equal (the SDKs send booleans as true/false,
    objects and lists as JSON)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _same_field(claim, sent: str) -> bool:
    if _as_sent(claim) == sent:
        return True
    if isinstance(claim, dict | list):  # the same JSON spelled with other spaces
        try:
            return json.loads(sent) == claim
        except (ValueError, RecursionError):  # not JSON, or nested past the stack
            return False
    return False


def access_for_jwt(token: str, data) -> Access:
    """A v2 client-side upload: the JWT names its Client Key, is signed by a usable secret,
    expires within the hour, and its payload is exactly the fields sent besides ``file``."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise bad_request("token is not a JSON Web Token.") from None
    if header.get("alg") != "HS256":
        raise bad_request("The JWT must be signed with HS256.")
    kid = header.get("kid")
    access = access_for_public_key(kid if isinstance(kid, str) else None)
    claims = None
    for secret in signing_secrets_usable(environment=access.environment):
        try:
            claims = jwt.decode(
                token,
                secret,
                algorithms=["HS256"],
                options={"require": ["exp"], "verify_iat": False},
            )
            break
        except jwt.ExpiredSignatureError:
            raise bad_request("The JWT has expired (exp is in the past).") from None
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as error:
            raise bad_request(f"The JWT is not valid: {str(error)[:200]}.") from None
    if claims is None:
        raise bad_request("Invalid JWT signature: sign it with the private key (HS256).")
    now = time.time()
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or exp > now + MAX_AHEAD_SECONDS:
        raise bad_request("The JWT's exp must be a Unix time less than 1 hour into the future.")
    sent = {name: data.get(name) for name in data if name not in ("file", "token")}
    fields = {name: value for name, value in claims.items() if name not in JWT_OWN_CLAIMS}
    differing = sorted(
        name
        for name in set(sent) | set(fields)
        if name not in sent or name not in fields or not _same_field(fields[name], sent[name])
    )
    if differing:
        raise bad_request(
            "The request's fields do not match the JWT payload: "
            f"{', '.join(name[:40] for name in differing[:10])}."
        )
    _spend(access, "jwt:" + hashlib.sha256(token.encode()).hexdigest(), exp)
    return access
