import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from keys.models import ApiKey, ApiKeyType, UploadToken

SECRET_PREFIXES = {ApiKeyType.SERVER: "sk_", ApiKeyType.CLIENT: "ck_"}
LOOKUP_PREFIX_LENGTH = 16
# last_used_at is informational; writing it on every request would turn each busy key into
# a hot row, so it is refreshed at most once per interval.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _keyed_hash(secret: str) -> str:
    return hmac.new(
        settings.IMGWIRE_KEY_PEPPER.encode(), secret.encode(), hashlib.sha256
    ).hexdigest()


def api_key_create(*, environment, name: str, key_type: str, **policy) -> tuple[ApiKey, str]:
    """Mint a key; returns it with its secret, which is never retrievable again."""
    secret = SECRET_PREFIXES[ApiKeyType(key_type)] + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        environment=environment,
        name=name,
        key_type=key_type,
        prefix=secret[:LOOKUP_PREFIX_LENGTH],
        secret_hash=_keyed_hash(secret),
        last4=secret[-4:],
        **policy,
    )
    return key, secret


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), updated_at=timezone.now()
    )
    key.refresh_from_db()
    return key


def api_key_authenticate(secret: str) -> ApiKey | None:
    if not secret.startswith(tuple(SECRET_PREFIXES.values())) or len(secret) > 128:
        return None
    key = (
        ApiKey.objects.active()
        .select_related("environment__organization")
        .filter(prefix=secret[:LOOKUP_PREFIX_LENGTH])
        .first()
    )
    if key is None or not hmac.compare_digest(key.secret_hash, _keyed_hash(secret)):
        return None
    if not secret.startswith(SECRET_PREFIXES[ApiKeyType(key.key_type)]):
        return None
    now = timezone.now()
    if key.last_used_at is None or key.last_used_at < now - LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=key.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_RESOLUTION)
        ).update(last_used_at=now)
    return key


def upload_token_create(*, environment) -> tuple[UploadToken, str]:
    secret = "ut_" + secrets.token_urlsafe(32)
    token = UploadToken.objects.create(
        environment=environment,
        token_hash=_keyed_hash(secret),
        expires_at=timezone.now() + timedelta(seconds=settings.IMGWIRE_UPLOAD_TOKEN_TTL_SECONDS),
    )
    return token, secret


def upload_token_consume(*, environment, secret: str) -> UploadToken | None:
    """Use a token once. The conditional UPDATE makes two concurrent uploads race for it
    in the database, where exactly one can win."""
    if not secret or len(secret) > 128:
        return None
    token_hash = _keyed_hash(secret)
    claimed = (
        UploadToken.objects.usable()
        .filter(environment=environment, token_hash=token_hash)
        .update(used_at=timezone.now())
    )
    if claimed != 1:
        return None
    return UploadToken.objects.get(token_hash=token_hash)


CLIENT_POLICY_FIELDS = frozenset(
    {
        "allowed_mime_types",
        "maximum_upload_bytes",
        "allow_unsigned_upload",
        "maximum_pending_uploads",
    }
)


def api_key_policy_update(*, key: ApiKey, **policy) -> ApiKey:
    """Change a Client key's upload policy; takes effect on its next request."""
    unknown = set(policy) - CLIENT_POLICY_FIELDS
    if unknown or key.is_server:
        raise ValueError(f"api_key_policy_update cannot change {sorted(unknown) or 'a Server key'}")
    for name, value in policy.items():
        setattr(key, name, value)
    key.save(update_fields=[*policy, "updated_at"])
    return key


def api_key_rename(*, key: ApiKey, name: str) -> ApiKey:
    """A key's name is a label for people; its secret, type and environment never change."""
    name = name.strip()
    if not name or len(name) > ApiKey._meta.get_field("name").max_length:
        raise ValueError("A key's name is 1 to 100 characters.")
    ApiKey.objects.filter(pk=key.pk).update(name=name, updated_at=timezone.now())
    key.name = name
    return key
