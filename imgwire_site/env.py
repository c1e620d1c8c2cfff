"""Typed readers for environment variables that fail loudly, naming the variable."""

import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_url(name: str, default: str, schemes: tuple[str, ...]) -> str:
    value = env_str(name, default)
    if value and urlsplit(value).scheme not in schemes:
        raise ImproperlyConfigured(
            f"{name} must start with one of {', '.join(s + '://' for s in schemes)}, got {value!r}"
        )
    return value.rstrip("/")


def dev_secret(name: str, data_dir: Path, may_generate: bool) -> str:
    """The variable's value; on one machine a random value generated once into the data dir.

    Installs spread over machines must set it explicitly: a secret that silently differs
    between machines would invalidate every signed URL and every stored key hash.
    """
    value = env_str(name)
    if value:
        return value
    if not may_generate:
        raise ImproperlyConfigured(
            f"{name} must be set when DEBUG is off and DATABASE_URL is set (every machine "
            "of the install needs the same value)"
        )
    path = data_dir / f".{name.lower()}"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def allowed_hosts(listed: str, *urls: str) -> list[str]:
    """ALLOWED_HOSTS: the comma-separated list given, else the hosts of the install's URLs.

    Loopback names are always admitted: a Host header naming the machine itself cannot
    point a link at anyone else's server, and health checks and `make run` use them.
    """
    if "*" in (h.strip() for h in listed.split(",")):
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS must list host names, not '*': links in emails are built from the "
            "Host header"
        )
    hosts = [h.strip() for h in listed.split(",") if h.strip()]
    if not hosts:
        names = [urlsplit(url).hostname for url in urls]
        hosts = [f"[{n}]" if ":" in n else n for n in names if n]
    return list(dict.fromkeys([*hosts, *LOOPBACK_HOSTS]))


def storage_from_url(url: str, data_dir: Path) -> dict:
    """STORAGES['default'] for IMGWIRE_STORAGE_URL: empty/file:// → a local folder, s3:// → S3."""
    if not url:
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(data_dir / "media"), "allow_overwrite": True},
        }
    parts = urlsplit(url)
    if parts.scheme == "file":
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": parts.path, "allow_overwrite": True},
        }
    if parts.scheme != "s3" or not parts.netloc:
        raise ImproperlyConfigured(
            "IMGWIRE_STORAGE_URL must be file:///path or s3://bucket?endpoint_url=…&region=…, "
            f"got {url!r}"
        )
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    options = {
        "bucket_name": parts.netloc,
        "location": parts.path.strip("/"),
        "file_overwrite": True,
        # Originals are never public: everything is read through Imgwire or presigned URLs.
        "default_acl": None,
        "querystring_auth": True,
        # SigV4 presigned URLs sign Content-Type and Content-Length (SigV2 cannot bind the
        # length), which direct uploads rely on.
        "signature_version": "s3v4",
        "region_name": query.get("region") or os.environ.get("AWS_DEFAULT_REGION") or None,
        "endpoint_url": query.get("endpoint_url") or None,
        "addressing_style": query.get("addressing_style") or None,
        "access_key": query.get("access_key") or os.environ.get("AWS_ACCESS_KEY_ID") or None,
        "secret_key": query.get("secret_key") or os.environ.get("AWS_SECRET_ACCESS_KEY") or None,
    }
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {k: v for k, v in options.items() if v is not None or k == "default_acl"},
    }
