"""Typed readers for environment variables that fail loudly, naming the variable."""

import os
import re
import secrets
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

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
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$"
)


def env_hostname(name: str) -> str:
    """A bare DNS host name (lowercased), or empty; no scheme, port or path."""
    value = env_str(name).lower().rstrip(".")
    if value and not _HOSTNAME.match(value):
        raise ImproperlyConfigured(
            f"{name} must be a host name like upload.example.com (no scheme, port or path), "
            f"got {value!r}"
        )
    return value


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


SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_URL_BACKENDS = {
    "smtp": SMTP_BACKEND,
    "smtps": SMTP_BACKEND,
    "console": "django.core.mail.backends.console.EmailBackend",
    "dummy": "django.core.mail.backends.dummy.EmailBackend",
}
EMAIL_URL_OPTIONS = {"tls", "ssl", "timeout"}


def _url_flag(query: dict, name: str) -> bool:
    if name not in query:
        return False
    value = query[name].strip().lower() or "true"  # a bare ?tls turns it on
    if value not in TRUE | FALSE:
        raise ImproperlyConfigured(f"EMAIL_URL's {name}= must be true or false, got {value!r}")
    return value in TRUE


def _email_from_url(url: str) -> dict:
    parts = urlsplit(url)
    if parts.scheme not in EMAIL_URL_BACKENDS:
        raise ImproperlyConfigured(
            "EMAIL_URL must start with one of "
            f"{', '.join(s + '://' for s in EMAIL_URL_BACKENDS)}, got {parts.scheme + '://'!r}"
        )
    found = {"EMAIL_BACKEND": EMAIL_URL_BACKENDS[parts.scheme]}
    if parts.scheme not in ("smtp", "smtps"):
        return found
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    unknown = set(query) - EMAIL_URL_OPTIONS
    if unknown:
        raise ImproperlyConfigured(
            f"EMAIL_URL has unknown options {', '.join(sorted(unknown))} "
            f"(known: {', '.join(sorted(EMAIL_URL_OPTIONS))})"
        )
    try:
        port = parts.port
    except ValueError:
        raise ImproperlyConfigured("EMAIL_URL has a port that is not 1 to 65535") from None
    if not parts.hostname:
        raise ImproperlyConfigured("EMAIL_URL must name the SMTP host: smtp://host:587/")
    use_ssl = parts.scheme == "smtps" or _url_flag(query, "ssl")
    use_tls = _url_flag(query, "tls")
    found.update(
        EMAIL_HOST=parts.hostname,
        EMAIL_PORT=port or (465 if use_ssl else 587 if use_tls else 25),
        # Percent-decoded: a password holding "@", ":" or "/" is written %40, %3A, %2F.
        EMAIL_HOST_USER=unquote(parts.username or ""),
        EMAIL_HOST_PASSWORD=unquote(parts.password or ""),
        EMAIL_USE_TLS=use_tls,
        EMAIL_USE_SSL=use_ssl,
    )
    if "timeout" in query:
        try:
            found["EMAIL_TIMEOUT"] = int(query["timeout"])
        except ValueError:
            raise ImproperlyConfigured(
                f"EMAIL_URL's timeout= must be whole seconds, got {query['timeout']!r}"
            ) from None
    return found


def email_settings() -> dict:
    """Django's EMAIL_* settings, DEFAULT_FROM_EMAIL and SERVER_EMAIL.

    EMAIL_URL (smtp://user:pass@host:587/?tls=true, smtps://…, console://) gives the
    connection; each of the usual variables (EMAIL_HOST, EMAIL_PORT, EMAIL_HOST_USER,
    EMAIL_HOST_PASSWORD, EMAIL_USE_TLS, EMAIL_USE_SSL, EMAIL_TIMEOUT, EMAIL_BACKEND) then
    overrides its part, so a password can come from its own secret variable. Mistakes that
    Django would only notice when the first email fails (both TLS modes, half a login, no
    sender address) stop start-up instead.
    """
    found = {
        "EMAIL_BACKEND": EMAIL_URL_BACKENDS["console"],
        "EMAIL_HOST": "localhost",
        "EMAIL_PORT": 25,
        "EMAIL_HOST_USER": "",
        "EMAIL_HOST_PASSWORD": "",
        "EMAIL_USE_TLS": False,
        "EMAIL_USE_SSL": False,
        # Django waits forever on a silent SMTP server; a password reset would hang with it.
        "EMAIL_TIMEOUT": 10,
    }
    if env_str("EMAIL_URL"):
        found.update(_email_from_url(env_str("EMAIL_URL")))
    elif env_str("EMAIL_HOST"):
        found["EMAIL_BACKEND"] = SMTP_BACKEND
    for name in ("EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD"):
        if env_str(name):
            found[name] = env_str(name)
    found["EMAIL_PORT"] = env_int("EMAIL_PORT", found["EMAIL_PORT"], minimum=1)
    if found["EMAIL_PORT"] > 65535:
        raise ImproperlyConfigured(f"EMAIL_PORT must be at most 65535, got {found['EMAIL_PORT']}")
    found["EMAIL_TIMEOUT"] = env_int("EMAIL_TIMEOUT", found["EMAIL_TIMEOUT"], minimum=1)
    found["EMAIL_USE_TLS"] = env_bool("EMAIL_USE_TLS", found["EMAIL_USE_TLS"])
    found["EMAIL_USE_SSL"] = env_bool("EMAIL_USE_SSL", found["EMAIL_USE_SSL"])
    if found["EMAIL_USE_TLS"] and found["EMAIL_USE_SSL"]:
        raise ImproperlyConfigured(
            "EMAIL_USE_TLS (STARTTLS, usually port 587) and EMAIL_USE_SSL (implicit TLS, "
            "smtps://, usually port 465) exclude each other: choose one"
        )
    if bool(found["EMAIL_HOST_USER"]) != bool(found["EMAIL_HOST_PASSWORD"]):
        raise ImproperlyConfigured(
            "EMAIL_HOST_USER and EMAIL_HOST_PASSWORD go together: set both, or neither to "
            "send without logging in"
        )
    sending = found["EMAIL_BACKEND"] == SMTP_BACKEND
    found["DEFAULT_FROM_EMAIL"] = _sender("DEFAULT_FROM_EMAIL", required=sending)
    found["SERVER_EMAIL"] = _sender("SERVER_EMAIL", required=False) or found["DEFAULT_FROM_EMAIL"]
    return found


def _sender(name: str, required: bool) -> str:
    value = env_str(name)
    if not value:
        if required:
            # Django's default, webmaster@localhost, is refused by nearly every relay.
            raise ImproperlyConfigured(
                f"{name} must be set when email is sent over SMTP, e.g. "
                "'Imgwire <noreply@images.example.com>'"
            )
        return "webmaster@localhost" if name == "DEFAULT_FROM_EMAIL" else ""
    _, address = parseaddr(value)
    if "@" not in address or any(c.isspace() for c in address):
        raise ImproperlyConfigured(
            f"{name} must be an email address ('noreply@example.com' or "
            f"'Imgwire <noreply@example.com>'), got {value!r}"
        )
    return value
