"""Encryption at rest for secrets Imgwire must be able to read back (signing secrets).

API keys are stored as keyed hashes because Imgwire only ever compares them; a signing
secret is different: Imgwire recomputes the vendor's HMAC with it, so it must be stored
recoverably. cryptography's Fernet (AES-128-CBC + HMAC-SHA256, authenticated) does the
encryption and MultiFernet the key rotation; nothing here is home-made crypto.

The keys come from IMGWIRE_ENCRYPTION_KEYS (comma-separated, newest first; any string of
enough entropy). Each is stretched into a Fernet key with HKDF, so operators need not
produce Fernet's own base64 format. The first key encrypts; every key decrypts, so a new
key can be put in front and ``manage.py reencrypt_secrets`` run before the old one goes.
"""

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_INFO = b"imgwire secrets at rest v1"


class UnreadableSecret(Exception):
    """No configured key decrypts this value (IMGWIRE_ENCRYPTION_KEYS lost a key)."""


def _fernet_key(material: str) -> bytes:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        material.encode()
    )
    return base64.urlsafe_b64encode(derived)


@cache
def _cipher(materials: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(material)) for material in materials])


def cipher() -> MultiFernet:
    return _cipher(tuple(settings.IMGWIRE_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return cipher().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return cipher().decrypt(token.encode()).decode()
    except InvalidToken:
        raise UnreadableSecret(
            "a stored secret cannot be decrypted with IMGWIRE_ENCRYPTION_KEYS"
        ) from None


def reencrypt(token: str) -> str:
    """The same plaintext under the first (newest) key."""
    try:
        return cipher().rotate(token.encode()).decode()
    except InvalidToken:
        raise UnreadableSecret(
            "a stored secret cannot be decrypted with IMGWIRE_ENCRYPTION_KEYS"
        ) from None
