"""Imgwire settings: one file, driven by environment variables (docs/configuration.md).

A fresh checkout runs with no variables at all (SQLite, a local folder, an in-process
broker); production differs only in the variables it sets.
"""

import re
from pathlib import Path

import dj_database_url
from boto3.s3.transfer import TransferConfig
from django.core.exceptions import ImproperlyConfigured

from domains.dns import cname_target_setting, parse_nameservers
from images.remote.addresses import parse_allowed_networks
from imgwire_site.env import (
    allowed_hosts,
    dev_secret,
    email_settings,
    env_bool,
    env_hostname,
    env_int,
    env_str,
    env_url,
    storage_from_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent
# An installed package (pyproject.toml) carries templates/ inside imgwire_site/; a checkout
# keeps it at the root. Installed, BASE_DIR is site-packages, no place for data: var/ is
# then the working directory's unless IMGWIRE_DATA_DIR says where (docs/deployment.md).
_packaged_templates = Path(__file__).resolve().parent / "templates"
_installed = _packaged_templates.is_dir()
_templates_dir = _packaged_templates if _installed else BASE_DIR / "templates"
_default_data_dir = Path("var") if _installed else BASE_DIR / "var"
DATA_DIR = Path(env_str("IMGWIRE_DATA_DIR", str(_default_data_dir))).resolve()

DEBUG = env_bool("DEBUG", False)
# Secrets a single machine may generate for itself: only the embedded default (no
# DATABASE_URL) keeps all its data on the machine that holds them, so a generated value
# can never disagree with another web process's. With a shared database they must be set.
_single_machine = DEBUG or not env_str("DATABASE_URL")
SECRET_KEY = dev_secret("SECRET_KEY", DATA_DIR, _single_machine)
IMGWIRE_KEY_PEPPER = dev_secret("IMGWIRE_KEY_PEPPER", DATA_DIR, _single_machine)
if not DEBUG and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters when DEBUG is off")
# Keys that encrypt secrets stored for reading back (keys/crypto.py), newest first. Without
# them, one derived from SECRET_KEY: set them explicitly so SECRET_KEY can rotate alone.
IMGWIRE_ENCRYPTION_KEYS = tuple(
    k.strip() for k in env_str("IMGWIRE_ENCRYPTION_KEYS").split(",") if k.strip()
) or (SECRET_KEY,)
# How long a rotated signing secret keeps verifying signatures beside the new one.
IMGWIRE_SIGNING_SECRET_OVERLAP_SECONDS = env_int(
    "IMGWIRE_SIGNING_SECRET_OVERLAP_SECONDS", 3600, minimum=0
)

IMGWIRE_PUBLIC_URL = env_url("IMGWIRE_PUBLIC_URL", "http://127.0.0.1:8000", ("http", "https"))
IMGWIRE_CDN_URL = env_url("IMGWIRE_CDN_URL", f"{IMGWIRE_PUBLIC_URL}/cdn", ("http", "https"))

# Uploadcare's Upload API also answers at the root of this host (docs/compat-uploadcare.md).
IMGWIRE_UPLOADCARE_HOST = env_hostname("IMGWIRE_UPLOADCARE_HOST")
# Never "*": Django builds absolute links (password resets, invitations) from the Host
# header, so only the install's own names are served. Connected custom domains are admitted
# by domains.hosts.CustomDomainMiddleware from the database instead.
ALLOWED_HOSTS = allowed_hosts(env_str("ALLOWED_HOSTS"), IMGWIRE_PUBLIC_URL, IMGWIRE_CDN_URL)
if IMGWIRE_UPLOADCARE_HOST and IMGWIRE_UPLOADCARE_HOST not in ALLOWED_HOSTS:
    ALLOWED_HOSTS.append(IMGWIRE_UPLOADCARE_HOST)
CSRF_TRUSTED_ORIGINS = [u for u in {IMGWIRE_PUBLIC_URL} if u.startswith(("http://", "https://"))]
# Cookies and HSTS follow the scheme the install is reached on: `make run` answers on
# plain http://127.0.0.1 with DEBUG off, where secure-only cookies would make sign-in fail.
_https = IMGWIRE_PUBLIC_URL.startswith("https://")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "environments",
    "keys",
    "images",
    "images.compat.uploadcare",
    "images.compat.imagekit",
    "domains",
    "metrics",
    "oauth2_provider",
    "keys.oauth",  # OAuth-linked agents and the MCP server (label "agents")
    "environments.webhooks",  # outgoing webhooks (label "webhooks")
]

MIDDLEWARE = [
    "domains.hosts.CustomDomainMiddleware",  # first: serves connected custom domains' Host
    # The dedicated Uploadcare upload host resolves against its own URLconf.
    "images.compat.uploadcare.hosts.UploadHostMiddleware",
    # Query strings and headers that are not storable text answer 422/400 before anything
    # looks them up (imgwire_site/api/text.py).
    "imgwire_site.api.middleware.RequestTextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # The dashboard's and the admin's static files, served by the app itself (no separate
    # web server to configure for `make run`; a CDN in front caches them in production).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Django's, with a 308 in the error shape for an API path missing its slash.
    "imgwire_site.api.middleware.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "imgwire_site.urls"
WSGI_APPLICATION = "imgwire_site.wsgi.application"
ASGI_APPLICATION = "imgwire_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [_templates_dir],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "imgwire_site.dashboard.switchers",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
_database_url = env_str("DATABASE_URL")
if _database_url:
    try:
        DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
    except Exception as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "imgwire.sqlite3",
            "OPTIONS": {
                # WAL lets readers proceed while the worker threads write; IMMEDIATE
                # transactions take the write lock up front so concurrent writers wait for
                # the busy timeout instead of failing with "database is locked".
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            "TEST": {"NAME": str(DATA_DIR / "test-imgwire.sqlite3")},
            # Opening a connection (and its PRAGMAs) per request cost a CDN cache hit more
            # than its query; each server thread keeps its own.
            "CONN_MAX_AGE": 600,
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Storage --------------------------------------------------------------------------
IMGWIRE_STORAGE_URL = env_str("IMGWIRE_STORAGE_URL")
_default_storage = storage_from_url(IMGWIRE_STORAGE_URL, DATA_DIR)
if _default_storage["BACKEND"].startswith("storages."):
    # Bounded multipart buffers keep a 100 MiB upload at a flat, small memory footprint.
    _transfer = TransferConfig(
        multipart_threshold=8 * 1024 * 1024,
        multipart_chunksize=8 * 1024 * 1024,
        max_concurrency=2,
    )
    # A request body cannot be re-read, so s3transfer buffers parts of it in memory; its
    # default of 10 queued parts (80 MiB) is what would make memory grow with file size.
    # boto3's constructor does not take this s3transfer option, hence the assignment.
    _transfer.max_in_memory_upload_chunks = 2
    _default_storage["OPTIONS"]["transfer_config"] = _transfer
STORAGES = {
    "default": _default_storage,
    # Compressed copies (gzip, and brotli where installed) written by collectstatic; no
    # manifest, so a page renders the same whether or not collectstatic has run (tests).
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"

# --- Broker ---------------------------------------------------------------------------
IMGWIRE_BROKER_URL = env_url("IMGWIRE_BROKER_URL", "", ("redis", "rediss", "amqp", "amqps"))
IMGWIRE_EMBEDDED_WORKER_THREADS = env_int("IMGWIRE_EMBEDDED_WORKER_THREADS", 2, minimum=1)
# Webhook deliveries wait on other people's servers: their own threads (broker.py).
IMGWIRE_EMBEDDED_WEBHOOK_THREADS = env_int("IMGWIRE_EMBEDDED_WEBHOOK_THREADS", 2, minimum=1)
# Prepended to every queue name, so installs sharing one broker never take each other's jobs.
IMGWIRE_QUEUE_PREFIX = env_str("IMGWIRE_QUEUE_PREFIX")
if IMGWIRE_QUEUE_PREFIX and not re.fullmatch(
    r"[A-Za-z_][A-Za-z0-9_.-]{0,63}", IMGWIRE_QUEUE_PREFIX
):
    raise ImproperlyConfigured(
        "IMGWIRE_QUEUE_PREFIX starts with a letter or _ and may hold letters, digits, _ . -"
    )
# A claim (a PUT, processing, a zip build) holds its row this long unless renewed; a
# heartbeat renews it every third of that while the work runs (images/services/leases.py).
IMGWIRE_LEASE_SECONDS = env_int("IMGWIRE_LEASE_SECONDS", 30, minimum=3)

# --- Uploads and processing -----------------------------------------------------------
# relay: upload_url points at Imgwire's own /ingest endpoint (streams to storage).
# direct: upload_url is an S3 presigned PUT; needs S3 storage.
IMGWIRE_UPLOAD_MODE = env_str("IMGWIRE_UPLOAD_MODE", "relay")
if IMGWIRE_UPLOAD_MODE not in ("relay", "direct"):
    raise ImproperlyConfigured(
        f"IMGWIRE_UPLOAD_MODE must be relay or direct, got {IMGWIRE_UPLOAD_MODE!r}"
    )
if IMGWIRE_UPLOAD_MODE == "direct" and not IMGWIRE_STORAGE_URL.startswith("s3://"):
    raise ImproperlyConfigured("IMGWIRE_UPLOAD_MODE=direct needs an s3:// IMGWIRE_STORAGE_URL")
# Shared secret S3/MinIO event notifications send to /hooks/s3-events (empty: endpoint off).
IMGWIRE_S3_EVENTS_TOKEN = env_str("IMGWIRE_S3_EVENTS_TOKEN")
IMGWIRE_UPLOAD_URL_TTL_SECONDS = env_int("IMGWIRE_UPLOAD_URL_TTL_SECONDS", 15 * 60, minimum=60)
IMGWIRE_UPLOAD_TOKEN_TTL_SECONDS = env_int("IMGWIRE_UPLOAD_TOKEN_TTL_SECONDS", 10 * 60, minimum=60)
IMGWIRE_MAX_PIXELS = env_int("IMGWIRE_MAX_PIXELS", 250_000_000, minimum=1)
IMGWIRE_DECODE_MEMORY_BYTES = env_int("IMGWIRE_DECODE_MEMORY_BYTES", 4608 * 1024**2, minimum=1)
IMGWIRE_DECODE_TIMEOUT_SECONDS = env_int("IMGWIRE_DECODE_TIMEOUT_SECONDS", 60, minimum=1)
IMGWIRE_PROCESSING_STALE_SECONDS = env_int("IMGWIRE_PROCESSING_STALE_SECONDS", 10 * 60, minimum=1)
if IMGWIRE_PROCESSING_STALE_SECONDS <= IMGWIRE_DECODE_TIMEOUT_SECONDS:
    # Otherwise the reconciler would hand live work to a second worker.
    raise ImproperlyConfigured(
        "IMGWIRE_PROCESSING_STALE_SECONDS must be longer than IMGWIRE_DECODE_TIMEOUT_SECONDS"
    )
IMGWIRE_PROCESSING_MAX_ATTEMPTS = env_int("IMGWIRE_PROCESSING_MAX_ATTEMPTS", 3, minimum=1)
IMGWIRE_ABANDONED_UPLOAD_SECONDS = env_int(
    "IMGWIRE_ABANDONED_UPLOAD_SECONDS", 24 * 3600, minimum=60
)
# Delivery renders: each runs in a forked child with these budgets.
IMGWIRE_RENDER_MEMORY_BYTES = env_int("IMGWIRE_RENDER_MEMORY_BYTES", 2 * 1024**3, minimum=1)
IMGWIRE_RENDER_TIMEOUT_SECONDS = env_int("IMGWIRE_RENDER_TIMEOUT_SECONDS", 20, minimum=1)
IMGWIRE_RENDER_CHILD_MAX_JOBS = env_int("IMGWIRE_RENDER_CHILD_MAX_JOBS", 100, minimum=1)
# PostgreSQL: the CDN lookup as a prepared statement (images/delivery/lookup.py); false
# behind a transaction-mode pooler that does not carry prepared statements.
IMGWIRE_DATABASE_PREPARED_LOOKUP = env_bool("IMGWIRE_DATABASE_PREPARED_LOOKUP", True)
IMGWIRE_MAX_OUTPUT_PIXELS = env_int("IMGWIRE_MAX_OUTPUT_PIXELS", 50_000_000, minimum=1)
IMGWIRE_WATERMARK_MAX_BYTES = env_int("IMGWIRE_WATERMARK_MAX_BYTES", 10 * 1024**2, minimum=1)

IMGWIRE_USAGE_FLUSH_SECONDS = env_int("IMGWIRE_USAGE_FLUSH_SECONDS", 10, minimum=1)
# Off only to measure what counting costs (bench/metrics.py); metrics then show no delivery.
IMGWIRE_USAGE_COUNTING = env_bool("IMGWIRE_USAGE_COUNTING", True)
# With RabbitMQ as the broker, each web process appends its counts here (local disk).
IMGWIRE_USAGE_SPOOL_DIR = env_str("IMGWIRE_USAGE_SPOOL_DIR", str(DATA_DIR / "usage-spool"))

# Remote ingest (upload_via_url): private ranges are refused unless listed here.
try:
    IMGWIRE_URL_FETCH_ALLOWED_NETWORKS = tuple(
        parse_allowed_networks(env_str("IMGWIRE_URL_FETCH_ALLOWED_NETWORKS"))
    )
except ValueError as error:
    raise ImproperlyConfigured(f"IMGWIRE_URL_FETCH_ALLOWED_NETWORKS: {error}") from None
# Outgoing webhooks (docs/webhooks.md): targets in private ranges are refused unless listed
# here (like the remote fetcher's list); plain http:// targets only when allowed.
try:
    IMGWIRE_WEBHOOK_ALLOWED_NETWORKS = tuple(
        parse_allowed_networks(env_str("IMGWIRE_WEBHOOK_ALLOWED_NETWORKS"))
    )
except ValueError as error:
    raise ImproperlyConfigured(f"IMGWIRE_WEBHOOK_ALLOWED_NETWORKS: {error}") from None
IMGWIRE_WEBHOOK_ALLOW_HTTP = env_bool("IMGWIRE_WEBHOOK_ALLOW_HTTP", False)
IMGWIRE_WEBHOOK_TIMEOUT_SECONDS = env_int("IMGWIRE_WEBHOOK_TIMEOUT_SECONDS", 10, minimum=1)
IMGWIRE_URL_FETCH_TIMEOUT_SECONDS = env_int("IMGWIRE_URL_FETCH_TIMEOUT_SECONDS", 30, minimum=1)
IMGWIRE_URL_FETCH_MAX_BYTES = env_int("IMGWIRE_URL_FETCH_MAX_BYTES", 100 * 1024**2, minimum=1)
IMGWIRE_URL_FETCH_HEADER_TIMEOUT_SECONDS = env_int(
    "IMGWIRE_URL_FETCH_HEADER_TIMEOUT_SECONDS", 10, minimum=1
)
IMGWIRE_DOWNLOAD_MAX_BYTES = env_int("IMGWIRE_DOWNLOAD_MAX_BYTES", 5 * 1024**3, minimum=1)
IMGWIRE_DOWNLOAD_TTL_SECONDS = env_int("IMGWIRE_DOWNLOAD_TTL_SECONDS", 24 * 3600, minimum=60)
IMGWIRE_DOWNLOAD_URL_TTL_SECONDS = env_int("IMGWIRE_DOWNLOAD_URL_TTL_SECONDS", 3600, minimum=60)
# Custom domains (docs/custom-domains.md): the name customers CNAME their host names to,
# and the DNS servers test_connection asks (comma-separated ip[:port]; empty: the system's).
try:
    IMGWIRE_CUSTOM_DOMAIN_CNAME_TARGET = cname_target_setting(
        env_str("IMGWIRE_CUSTOM_DOMAIN_CNAME_TARGET"), IMGWIRE_CDN_URL
    )
    IMGWIRE_DNS_NAMESERVERS = tuple(parse_nameservers(env_str("IMGWIRE_DNS_NAMESERVERS")))
except ValueError as error:
    raise ImproperlyConfigured(str(error)) from None
# How often the embedded default runs the reconciler itself (0 turns it off).
IMGWIRE_RECONCILE_INTERVAL_SECONDS = env_int("IMGWIRE_RECONCILE_INTERVAL_SECONDS", 300)
# How often lost messages and lapsed claims are looked for (the cheap part of reconciling,
# run by the embedded scheduler and `reconcile --loop`; 0 turns it off).
IMGWIRE_RECOVER_INTERVAL_SECONDS = env_int("IMGWIRE_RECOVER_INTERVAL_SECONDS", 10)

# --- API ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "keys.authentication.ApiKeyAuthentication",
        "keys.authentication.DashboardSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["keys.permissions.ServerKeyOrMember"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Strict UTF-8, no unstorable text, bounded nesting (imgwire_site/api/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["imgwire_site.api.parsers.StrictJSONParser"],
    "EXCEPTION_HANDLER": "imgwire_site.api.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Imgwire Resource API",
    "VERSION": "1.0.0",
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": False,
    "ENUM_NAME_OVERRIDES": {
        "ImageStatus": "images.models.ImageStatus",
        "ImageDownloadStatus": "images.models.DownloadStatus",
        "SupportedMimeType": "images.models.SupportedMimeType",
        "ApiKeyType": "keys.models.ApiKeyType",
        "OrganizationMembershipRole": "environments.models.Role",
    },
    "SCHEMA_PATH_PREFIX": r"/api/v1",
}

# django-cors-headers supplies the mechanics; which origins may call is decided per
# environment (domains app), so nothing is opened globally here. /ingest/ is the upload_url
# PUT a browser makes after standard_upload (docs/cors.md).
CORS_URLS_REGEX = r"^/(api/v1/images|ingest|uploadcare|imagekit)/.*$|^/(base|info)/$"
CORS_ALLOW_ALL_ORIGINS = False
CORS_ALLOW_METHODS = ["GET", "POST", "PUT", "OPTIONS"]
CORS_EXPOSE_HEADERS = ["X-Total-Count", "X-Page", "X-Limit", "X-Prev-Page", "X-Next-Page"]
# x-uc-user-agent: Uploadcare's browser clients (its File Uploader widget) send it on every
# Upload API call, so its preflight must allow it.
CORS_ALLOW_HEADERS = [
    "authorization",
    "content-type",
    "x-environment-id",
    "idempotency-key",
    "x-uc-user-agent",
]

# --- Security -------------------------------------------------------------------------
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _https)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", _https)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if _https and not DEBUG else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _https and not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/dashboard/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
# Anyone may create an account unless the operator turns it off (invitations still work).
IMGWIRE_PUBLIC_SIGNUP = env_bool("IMGWIRE_PUBLIC_SIGNUP", True)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# EMAIL_URL and/or EMAIL_HOST, EMAIL_PORT, … (docs/configuration.md), checked here so a
# wrong value stops start-up instead of failing the first password reset.
_email = email_settings()
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email["EMAIL_HOST"]
EMAIL_PORT = _email["EMAIL_PORT"]
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
EMAIL_USE_TLS = _email["EMAIL_USE_TLS"]
EMAIL_USE_SSL = _email["EMAIL_USE_SSL"]
EMAIL_TIMEOUT = _email["EMAIL_TIMEOUT"]
DEFAULT_FROM_EMAIL = _email["DEFAULT_FROM_EMAIL"]
SERVER_EMAIL = _email["SERVER_EMAIL"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- OAuth-linked agents (keys/oauth/, docs/agents.md) -------------------------------------
# OAuth 2.1: authorization code + PKCE (S256) only, rotating refresh tokens, short-lived
# access tokens bound to the resource they were asked for (RFC 8707).
# DOT's models are swappable; the migration autodetector reads these names from settings.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER_DEVICE_GRANT_MODEL = "oauth2_provider.DeviceGrant"
OAUTH2_PROVIDER = {
    "SCOPES": {
        "images:read": "Read images, their metadata and metrics",
        "images:write": "Upload, tag and delete images, create bulk downloads",
        "settings:write": "Manage settings: CORS origins, domains, keys and webhooks",
    },
    "DEFAULT_SCOPES": ["images:read"],
    "OAUTH2_SERVER_CLASS": "keys.oauth.server.AuthorizationCodeServer",
    "ACCESS_TOKEN_EXPIRE_SECONDS": 15 * 60,
    "REFRESH_TOKEN_EXPIRE_SECONDS": 30 * 24 * 3600,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    # Tokens are kept as a SHA-256 checksum only, like API keys: a database leak reveals none.
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    # RFC 9207: the authorization response names its issuer (mix-up attacks).
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token"],
    "OAUTH2_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": [
        "none",
        "client_secret_post",
        "client_secret_basic",
    ],
    # Native assistants redirect to a loopback port of their choosing (RFC 8252 7.3).
    "ALLOW_LOCALHOST_LOOPBACK": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
    # Open registration, as the MCP authorization spec expects of a remote server.
    "DCR_ENABLED": True,
    "DCR_REGISTRATION_PERMISSION_CLASSES": ("oauth2_provider.dcr.AllowAllDCRPermission",),
    "OAUTH2_PROTECTED_RESOURCE_NAME": "Imgwire MCP server",
}

# Assistants on the member's own machine receive the authorization code on a loopback
# http redirect (RFC 8252 §7.3, as MCP clients do); PKCE, not the scheme, protects it.
SILENCED_SYSTEM_CHECKS = ["oauth2_provider.W008"]
