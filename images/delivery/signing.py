"""Signed delivery URLs: ImageKit's scheme, so ImageKit's SDKs sign working Imgwire URLs.

A signed URL is a CDN URL with ``ik-s`` (and, when it expires, ``ik-t``) appended::

    {IMGWIRE_CDN_URL}/{org}/{env}/{image}[@preset][?query]  (or https://{custom domain}/…)
      + ("?" or "&") + "ik-t=" + expiry unix seconds + "&ik-s=" + signature

    signature = hex HMAC-SHA1(signing secret, "{image}[@preset][?query]" + expiry)

where ``expiry`` is 9999999999 (and no ``ik-t`` is sent) for a URL that never expires.
The signed text is the URL after its endpoint plus "/" (ImageKit's ``urlEndpoint``, here
``{IMGWIRE_CDN_URL}/{org}/{env}`` or ``https://{custom domain}``) before ``ik-t``/``ik-s``
were added, exactly as sent: imagekitio's ``helper.build_url(..., signed=True,
expires_in=N)`` and @imagekit/nodejs's ``helper.buildSrc`` compute the same. Every usable
signing secret verifies (the current one, and a rotated one during its overlap).

The secrets are kept per process for ``SECRETS_TTL_SECONDS`` so a warm signed hit costs no
query; a signature that matches none of the kept secrets is checked once more against
the database (a secret created by a rotation since), so a rotation never breaks new URLs
and an ended secret stops verifying within the TTL.
"""

from __future__ import annotations

import functools
import hmac
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode

from images.transform import TransformError, parse_transform
from imgwire_site import domain
from imgwire_site.domain import Refusal
from keys.signing import signing_secret_reveal, signing_secrets_usable

SIGNATURE = "ik-s"
EXPIRY = "ik-t"
NEVER = 9999999999  # ImageKit's expiry for a signed URL without one
SECRETS_TTL_SECONDS = 60.0
# Signed answers of private images may be kept by the browser only (never by a shared
# cache, whose copy would outlive the signature), for at most this long.
PRIVATE_MAX_AGE_SECONDS = 3600

_secrets: dict[object, tuple[float, tuple[str, ...]]] = {}
_lock = threading.Lock()


class SignatureRefused(Exception):
    """A signed URL that does not verify: answer 403 with ``message``."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Signed:
    """What a verified signature tells the delivery view."""

    expires_at: int | None  # unix seconds; None: never


def split_signature(raw_query: str) -> tuple[str, str | None, str | None]:
    """``raw_query`` without ``ik-t``/``ik-s`` (the rest exactly as sent, in order), and
    their raw values (None when absent)."""
    if "ik-" not in raw_query:
        return raw_query, None, None
    kept, expiry, signature = [], None, None
    for item in raw_query.split("&"):
        name, _, value = item.partition("=")
        if name == SIGNATURE:
            if signature is not None:
                raise SignatureRefused("The URL carries ik-s twice.")
            signature = value
        elif name == EXPIRY:
            if expiry is not None:
                raise SignatureRefused("The URL carries ik-t twice.")
            expiry = value
        else:
            kept.append(item)
    return "&".join(kept), expiry, signature


def signed_text(image_ref: str, query: str) -> str:
    """The part of the URL the signature covers (the expiry is appended to it)."""
    return f"{image_ref}?{query}" if query else image_ref


def _digest(secret: str, text: str) -> str:
    # hmac.digest is OpenSSL's one-shot HMAC: a few µs, where building an hmac.HMAC object
    # cost ~20 µs of every signed request.
    return hmac.digest(secret.encode(), text.encode(), "sha1").hex()


@functools.lru_cache(maxsize=4096)
def _matches(secrets: tuple[str, ...], text: str, signature: str) -> bool:
    """Whether ``signature`` signs ``text`` with one of ``secrets``. Memoised: a warm
    signed URL is requested again and again, and the answer depends only on these three
    (a rotated or revoked secret changes ``secrets``, so it is never answered from here)."""
    return any(hmac.compare_digest(_digest(s, text), signature) for s in secrets)


def _usable(environment_id, *, fresh: bool) -> tuple[tuple[str, ...], bool]:
    """The environment's usable secrets, and whether they were just read."""
    now = time.monotonic()
    kept = _secrets.get(environment_id)
    if kept is not None and not fresh and now - kept[0] < SECRETS_TTL_SECONDS:
        return kept[1], False
    from environments.models import Environment

    environment = Environment(id=environment_id)
    secrets = tuple(signing_secrets_usable(environment=environment))
    with _lock:
        _secrets[environment_id] = (now, secrets)
    return secrets, True


def forget_secrets() -> None:
    """Drop the kept secrets (tests; a rotation needs no call, see the module docstring)."""
    with _lock:
        _secrets.clear()
    _matches.cache_clear()


def verify(
    environment_id, image_ref: str, query: str, expiry: str | None, signature: str, now=None
) -> Signed:
    """Check a signed request; SignatureRefused (a 403) when tampered or expired."""
    if expiry is None:
        expires_at = None
        signed_expiry = NEVER
    else:
        if not (expiry.isascii() and expiry.isdigit()) or len(expiry) > 12:
            raise SignatureRefused("The signed URL's ik-t must be a unix time in seconds.")
        expires_at = signed_expiry = int(expiry)
    if not (len(signature) == 40 and signature.isascii() and signature.isalnum()):
        raise SignatureRefused("The URL's signature (ik-s) is not valid for it.")
    text = signed_text(image_ref, query) + str(signed_expiry)
    signature = signature.lower()
    secrets, fresh = _usable(environment_id, fresh=False)
    matched = _matches(secrets, text, signature)
    if not matched and not fresh:
        secrets, _ = _usable(environment_id, fresh=True)
        matched = _matches(secrets, text, signature)
    if not matched:
        raise SignatureRefused("The URL's signature (ik-s) is not valid for it.")
    if expires_at is not None and expires_at < (time.time() if now is None else now):
        raise SignatureRefused("The signed URL has expired.")
    return Signed(expires_at)


def cache_control(signed: Signed, now=None) -> str:
    """``Cache-Control`` of a signed answer of a private image: this browser only, and
    never past the signature's expiry."""
    age = PRIVATE_MAX_AGE_SECONDS
    if signed.expires_at is not None:
        left = signed.expires_at - int(time.time() if now is None else now)
        age = max(0, min(age, left))
    return f"private, max-age={age}"


def _suffix(transformation: str) -> str:
    """What follows the image id for ``transformation``: ImageKit syntax (``w-300,h-200``,
    sent as ``?tr=``) or Imgwire's own (``@thumbnail``, ``?width=300``, ``width=300``)."""
    text = transformation.strip()
    if not text:
        return ""
    if text.startswith(("@", "?")) or "=" in text:
        preset, _, query = text.partition("?") if text.startswith("@") else ("", "", text)
        query = query.removeprefix("?")
        _check_imgwire(preset.removeprefix("@") or None, query)
        return preset + (f"?{query}" if query else "")
    from images.transform.imagekit_syntax import to_query

    to_query(text)  # a Refusal naming what cannot be honoured
    return f"?tr={quote(text, safe=',:-_.')}"


def _check_imgwire(preset: str | None, query: str) -> None:
    try:
        parse_transform(parse_qsl(query, keep_blank_values=True), preset)
    except TransformError as error:
        raise Refusal(domain.INVALID_VALUE, error.message, field="transformation") from None


def sign_url(
    url: str,
    *,
    endpoint: str,
    secret: str,
    expires_in: int | None = None,
    now: float | None = None,
) -> str:
    """``url`` (which starts with ``endpoint + "/"``) signed as ImageKit's SDKs sign it."""
    relative = url.removeprefix(endpoint.rstrip("/") + "/")
    expiry = NEVER
    if expires_in is not None and expires_in > 0:
        expiry = int(time.time() if now is None else now) + int(expires_in)
    signature = _digest(secret, relative + str(expiry))
    params = {EXPIRY: expiry} if expiry != NEVER else {}
    params[SIGNATURE] = signature
    return url + ("&" if "?" in url else "?") + urlencode(params)


def delivery_url_sign(image, *, expires_in: int | None, transformation: str = "") -> str:
    """A signed delivery URL for ``image`` (on its custom domain when connected), valid
    for ``expires_in`` seconds (None or 0: without expiry). ``transformation`` is ImageKit
    syntax or Imgwire's own (see ``_suffix``); Refusal(INVALID_VALUE) when it is invalid."""
    if expires_in is not None and (not isinstance(expires_in, int) or expires_in < 0):
        raise Refusal(
            domain.INVALID_VALUE,
            "expires_in must be a whole number of seconds, at least 0",
            field="expires_in",
        )
    base = image.cdn_url  # {endpoint}/{image id}
    endpoint = base.rsplit("/", 1)[0]
    secret = signing_secret_reveal(environment=image.environment)
    return sign_url(
        base + _suffix(transformation), endpoint=endpoint, secret=secret, expires_in=expires_in
    )
