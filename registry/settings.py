"""Settings for the registry: one module, driven by environment variables.

Every default runs with no configuration at all (SQLite, the filesystem broker, a key file
created under ``var/``); production sets the variables listed in docs/deployment.md.
"""

import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab, schedule

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("REGISTRY_VAR_DIR", BASE_DIR / "var"))


def env(name: str, default: str = "") -> str:
    """A string setting; ``NAME_FILE`` (a path, e.g. a Docker secret) wins over ``NAME``."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        return Path(file_path).read_text().strip()
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = env(name)
    return int(value) if value != "" else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def _private_var_dir() -> None:
    """``var/`` holds the zero-setup default's keys and database: readable by this user only (0700)."""
    VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
    if VAR_DIR.stat().st_mode & 0o077:
        VAR_DIR.chmod(0o700)


def _local_secret(filename: str, factory) -> str:
    """Create a secret once in ``var/`` (git-ignored) for the zero-setup default: mode 0600 from the start
    (never a moment readable by others), and atomically (a process starting at the same moment, a worker
    beside the web server, reads the same secret, never a half-written or a second one)."""
    _private_var_dir()
    path = VAR_DIR / filename
    if not path.exists():
        draft = path.with_name(f".{filename}.{os.getpid()}.new")
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
            handle.write(factory())
        try:
            os.link(draft, path)  # fails if another process created it first: then theirs is the one
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


def _new_django_secret() -> str:
    from django.core.management.utils import get_random_secret_key

    return get_random_secret_key()


def _new_field_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env("SECRET_KEY") or _local_secret("secret_key", _new_django_secret)
# Keys for the encrypted identity-document columns; the first encrypts, all decrypt (rotation).
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS") or [
    _local_secret("field_encryption.key", _new_field_key)
]
# Key for the keyed hash used for exact lookup of document numbers; never rotated casually.
FIELD_HASH_KEY = env("FIELD_HASH_KEY") or FIELD_ENCRYPTION_KEYS[-1]
# Whether the keys were given (production) or made in var/ (the zero-setup default): `check --deploy` says.
FIELD_KEYS_GIVEN = bool(env_list("FIELD_ENCRYPTION_KEYS")) and bool(env("FIELD_HASH_KEY"))

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "registry.apps.RegistryAdminConfig",  # django.contrib.admin, behind a second factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    # Sessions with their user, address and browser: a user sees and ends their own (registry/sessions.py).
    "qsessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "django_celery_beat",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "registry",
    "persons",
    "housing",
    "patrol",
    "portal",
    "lodging",
    "oversight",
    "workspace",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, so that static files get the headers too: every response has them.
    "csp.middleware.CSPMiddleware",
    "registry.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "registry.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Request bodies over the upload cap, or over the small cap before sign-in, are refused from their
    # Content-Length before anything reads them (CSRF reads the form only in process_view, after this).
    "registry.uploads.RequestBodyLimitMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # The second factor and session time limits, before the views see the user.
    "registry.middleware.SignInPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Search and filter values kept in the session behind ?k=<key>, never in a URL (after the CSRF check).
    "registry.sealed_query.SealedQueryMiddleware",
    "registry.middleware.AuditContextMiddleware",
    "registry.middleware.PrivateResponseMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "workspace.urls"
WSGI_APPLICATION = "registry.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "registry.context_processors.scope",
                "registry.context_processors.notifications",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# PostgreSQL in production: migrations run as the owner role with DATABASE_APP_ROLE naming the role the
# application connects as, which may then only INSERT and SELECT the audit trail (registry/db_roles.py).
DATABASE_APP_ROLE = env("DATABASE_APP_ROLE")
_private_var_dir()
# A SQLite file the application creates or opens is made 0600 (registry.signals.sqlite_file_private).
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'registry.sqlite3'}"),
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while the worker writes; IMMEDIATE avoids lock upgrades.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
# Behind PgBouncer in transaction mode (docs/deployment.md, "PgBouncer") a server connection passes to another
# client after every transaction: no server-side cursor may outlive one, and PgBouncer refuses the `options`
# startup parameter, so jit=off is then the role's own default (ALTER ROLE ... SET jit = off).
PGBOUNCER = env_bool("REGISTRY_PGBOUNCER", False)


def postgres_options(database: dict, *, pgbouncer: bool) -> dict:
    """A PostgreSQL alias's settings, direct or through PgBouncer in transaction mode."""
    options = database.setdefault("OPTIONS", {})
    if pgbouncer:
        database["DISABLE_SERVER_SIDE_CURSORS"] = True
        options.pop("options", None)
    else:
        # JIT compilation pays off for long analytical queries, not for a page's: its misestimates cost the
        # persons list 149 ms and a common-surname search 8 ms at a million persons (docs/performance.md).
        options["options"] = "-c jit=off"
    return database


if DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    postgres_options(DATABASES["default"], pgbouncer=PGBOUNCER)
# A streaming replica for the pages that opt in (registry/db_router.py): dashboards, exports, the audit pages
# and lists. Writes, and reads of a user who wrote in the last seconds, stay on the primary.
DATABASE_REPLICA_URL = env("DATABASE_REPLICA_URL")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = postgres_options(dj_database_url.parse(
        DATABASE_REPLICA_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True,
    ), pgbouncer=PGBOUNCER)
    if not DATABASES["replica"]["ENGINE"].startswith("django.db.backends.postgresql"):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("DATABASE_REPLICA_URL must be a PostgreSQL URL (a streaming standby)")
    # A replica that does not answer is skipped after this long, not waited for.
    DATABASES["replica"]["OPTIONS"].setdefault("connect_timeout", env_int("DATABASE_REPLICA_CONNECT_TIMEOUT", 2))
    # In tests the replica reads the test database (a standby replicates the whole cluster, it included).
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["registry.db_router.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# A roster comparison of a large dormitory posts one checkbox per change (Django's default is 1000 fields).
DATA_UPLOAD_MAX_NUMBER_FIELDS = env_int("DATA_UPLOAD_MAX_NUMBER_FIELDS", 10_000)

# --- Uploads (docs/security.md, "Uploads") -------------------------------------------------------
# The largest file a user may upload (the resident import, a roster list); the upload pages state it. A
# request body may be this plus UPLOAD_FORM_BYTES for the form around the file: a larger one is refused
# from its Content-Length before it is read (registry/uploads.py). A proxy in front should allow as much
# (nginx: client_max_body_size) and no more.
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 20 * 1024 * 1024)
UPLOAD_FORM_BYTES = 1024 * 1024
# Before signing in, every form is small (the login form is well under 1 KB).
UPLOAD_ANONYMOUS_MAX_BYTES = env_int("UPLOAD_ANONYMOUS_MAX_BYTES", 64 * 1024)
# Columns a CSV or XLSX row may have (the import knows 14; offices add a few of their own).
UPLOAD_MAX_COLUMNS = env_int("UPLOAD_MAX_COLUMNS", 100)
# An XLSX is a ZIP: what its parts may unpack to in all (100,000 rows of the import's 14 columns are
# about 80 MB of XML), and by how much a part may be compressed (real sheets: 5 to 20 times).
UPLOAD_MAX_UNPACKED_BYTES = env_int("UPLOAD_MAX_UNPACKED_BYTES", 200 * 1024 * 1024)
UPLOAD_MAX_COMPRESSION_RATIO = env_int("UPLOAD_MAX_COMPRESSION_RATIO", 100)

# --- Cache ----------------------------------------------------------------------------------
# Shared by every web worker: the plaque page's rate limit (django-ratelimit) counts here. Redis when
# REDIS_URL is set (compose, CI); otherwise files under var/cache/, whose counts can miss a few hits
# under concurrent requests (no atomic increment) but are shared by several gunicorn workers.
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                          "KEY_PREFIX": "registry"}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                          "LOCATION": str(VAR_DIR / "cache"), "OPTIONS": {"MAX_ENTRIES": 10000}}}

# Behind a reverse proxy every request comes from the proxy's address: name the header the proxy
# sets with the client's address (e.g. HTTP_X_REAL_IP) so that rate limits and login lock-outs count
# per client, not per proxy. Empty: REMOTE_ADDR (no proxy, or one that rewrites it).
CLIENT_IP_HEADER = env("CLIENT_IP_HEADER", "")
# One function reads it for everything that counts or records addresses (registry/net.py, django-ipware):
# lock-outs, rate limits, sessions and the audit trail.
RATELIMIT_IP_META_KEY = "registry.net.ratelimit_ip"
AXES_CLIENT_IP_CALLABLE = "registry.net.client_ip"

# --- Auth -----------------------------------------------------------------------------------
# Covering indexes (INCLUDE) are PostgreSQL's; on SQLite such an index keeps only its key columns,
# which is what the embedded default needs.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "registry.backends.CachedPermissionsBackend",
]
# Django's rules with messages that name the field, a longer minimum for station-side accounts, and no reuse
# of the last REGISTRY["PASSWORD_HISTORY"] passwords (recorded whenever a password is saved): registry/passwords.py.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "registry.passwords.UserAttributeSimilarityValidator"},
    {"NAME": "registry.passwords.MinimumLengthByRoleValidator"},
    {"NAME": "registry.passwords.CommonPasswordValidator"},
    {"NAME": "registry.passwords.NumericPasswordValidator"},
    {"NAME": "registry.passwords.PasswordHistoryValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_ENABLED = env_bool("AXES_ENABLED", True)
AXES_LOCKOUT_TEMPLATE = "registration/locked.html"
# The name authenticator apps show beside the code.
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", "Resident registry")

# --- I18N -----------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
# Hashed, compressed file names once collectstatic has written its manifest (bin/run and the image
# always run it); before that, plain names served straight from the source folders.
_MANIFEST = (STATIC_ROOT / "staticfiles.json").exists() or "collectstatic" in sys.argv
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if _MANIFEST and not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", True)
WHITENOISE_MANIFEST_STRICT = False

# --- Security -------------------------------------------------------------------------------
SECURE_HTTPS = env_bool("SECURE_HTTPS", False)
SESSION_COOKIE_SECURE = SECURE_HTTPS
CSRF_COOKIE_SECURE = SECURE_HTTPS
SECURE_SSL_REDIRECT = SECURE_HTTPS and env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if SECURE_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HTTPS
SECURE_HSTS_PRELOAD = SECURE_HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if SECURE_HTTPS else None
SESSION_COOKIE_HTTPONLY = True
# The absolute limit of a session; the idle limits are REGISTRY's IDLE_MINUTES_*.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 8 * 3600)
# Sessions are read from the cache (Redis in production) and written through to the database.
SESSION_ENGINE = "qsessions.backends.cached_db"
# Password-reset links (portal accounts by email, station accounts from an administrator) last an hour.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3600)
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp) on every response: scripts, styles, fonts and connections from this
# origin only; no inline script or style, no eval; images from this origin or data: URIs (Bootstrap's and
# Swagger UI's icons are SVGs inlined in their CSS). Nothing from another origin. docs/security.md.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "upgrade-insecure-requests": SECURE_HTTPS,
    },
}
# Browser features no page uses, refused for the page and anything it could embed (registry.middleware).
# The copy buttons write to the clipboard, from this origin only.
PERMISSIONS_POLICY = {
    "accelerometer": [], "autoplay": [], "bluetooth": [], "camera": [], "clipboard-read": [],
    "clipboard-write": ["self"], "display-capture": [], "encrypted-media": [], "fullscreen": [],
    "geolocation": [], "gyroscope": [], "hid": [], "idle-detection": [], "magnetometer": [], "microphone": [],
    "midi": [], "payment": [], "picture-in-picture": [], "publickey-credentials-get": [], "screen-wake-lock": [],
    "serial": [], "usb": [], "web-share": [], "xr-spatial-tracking": [],
}

# --- Email ----------------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "registry@localhost")

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "registry.api.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "EXCEPTION_HANDLER": "registry.api.exceptions.api_exception_handler",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "registry.api.filters.FilterSetOrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "registry.api.schema.RegistryAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "registry.api.pagination.RegistryCursorPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Resident and rental-housing registry API",
    "DESCRIPTION": "Every registry resource over HTTP, scoped to the caller. Errors use one format: "
                   "`{\"error\": code, \"detail\": text, \"fields\": {field: [messages]}}`. See docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI from drf-spectacular-sidecar: served from our static files, nothing from the internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No badge from the public Swagger validator: the page loads nothing from another origin (CSP).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Celery ---------------------------------------------------------------------------------
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND") or None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360)
# The import's dry run and commit (housing.tasks): 100,000 rows take well under two minutes
# (docs/performance.md); past the soft limit the job fails with a message and nothing is imported.
IMPORT_TASK_SOFT_TIME_LIMIT = env_int("IMPORT_TASK_SOFT_TIME_LIMIT", 1800)
IMPORT_TASK_TIME_LIMIT = env_int("IMPORT_TASK_TIME_LIMIT", IMPORT_TASK_SOFT_TIME_LIMIT + 60)
# A worker child that a task left holding more than this (KiB) is replaced by a fresh one after the task
# (Celery's worker_max_memory_per_child), so a large import's memory goes back to the system. It never stops
# a task midway: the reader's limits (registry/tabular.py) keep a hostile file's check under it (234 MB
# measured, tests/housing/test_import_limits.py), and a legitimate 100,000-row import may pass it once.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env_int("CELERY_WORKER_MAX_MEMORY_PER_CHILD", 300 * 1024)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
DAY = 24 * 3600
CELERY_BEAT_SCHEDULE = {
    "rating-recalculate-all": {
        "task": "patrol.tasks.rating_recalculate_all",
        "schedule": crontab(hour=1, minute=0),
        "options": {"expires": DAY - 600},
    },
    "verification-sweep": {
        "task": "patrol.tasks.verification_sweep_task",
        "schedule": crontab(hour=2, minute=0),
        "options": {"expires": DAY - 600},
    },
    "reminders-send": {
        "task": "patrol.tasks.reminders_send_task",
        "schedule": crontab(hour=7, minute=30),  # after the night's work, before the station opens
        "options": {"expires": DAY - 600},
    },
    "persons-anonymise": {
        "task": "persons.tasks.persons_anonymise_task",
        "schedule": crontab(hour=3, minute=0),
        "options": {"expires": DAY - 600},
    },
    "imports-tidy": {
        "task": "housing.tasks.imports_tidy_task",
        "schedule": crontab(hour=4, minute=0),
        "options": {"expires": DAY - 600},
    },
    "audit-seal": {
        "task": "registry.tasks.audit_seal_task",
        "schedule": schedule(run_every=timedelta(minutes=5)),
        "options": {"expires": 240},
    },
    "audit-verify": {
        "task": "registry.tasks.audit_verify_task",
        "schedule": crontab(hour=4, minute=30),
        "options": {"expires": DAY - 600},
    },
    "retention": {
        "task": "registry.tasks.retention_task",
        "schedule": crontab(hour=3, minute=45),
        "options": {"expires": DAY - 600},
    },
    "access-flags": {
        "task": "oversight.tasks.access_flags_task",
        "schedule": crontab(hour=5, minute=0),
        "options": {"expires": DAY - 600},
    },
    "tally-compact": {
        "task": "workspace.tasks.tally_compact_task",
        "schedule": schedule(run_every=timedelta(minutes=10)),
        "options": {"expires": 540},
    },
    "tally-check": {
        "task": "workspace.tasks.tally_check_task",
        "schedule": crontab(hour=4, minute=15),
        "options": {"expires": DAY - 600},
    },
    "audit-purge-expired": {
        "task": "registry.tasks.audit_purge_expired",
        "schedule": crontab(hour=3, minute=30),
        "options": {"expires": DAY - 600},
    },
}

# --- Registry rules (PRODUCT.md "Rules"); each a setting with the documented default ---------
REGISTRY = {
    "REPORT_DEADLINE_DAYS": env_int("REGISTRY_REPORT_DEADLINE_DAYS", 3),
    "AUDIT_RETENTION_DAYS": max(183, env_int("REGISTRY_AUDIT_RETENTION_DAYS", 183)),
    "ANONYMISE_AFTER_DAYS": env_int("REGISTRY_ANONYMISE_AFTER_DAYS", 3 * 365),
    # Months between verifications by the property's star rating; 0 = unrated.
    "VERIFICATION_MONTHS": {5: 12, 4: 6, 3: 3, 2: 2, 1: 1, 0: 3},
    # Landlords/employers of properties with at least this many stars confirm occupants themselves.
    "SELF_CONFIRM_MIN_STARS": env_int("REGISTRY_SELF_CONFIRM_MIN_STARS", 4),
    "ESCALATE_OVERDUE_DAYS": env_int("REGISTRY_ESCALATE_OVERDUE_DAYS", 14),
    "SUBMISSION_WAIT_REMINDER_DAYS": env_int("REGISTRY_SUBMISSION_WAIT_REMINDER_DAYS", 2),
    "REMINDER_ANSWER_DAYS": env_int("REGISTRY_REMINDER_ANSWER_DAYS", 7),
    "PERMIT_ELIGIBLE_MONTHS": env_int("REGISTRY_PERMIT_ELIGIBLE_MONTHS", 6),
    "PERMIT_VALID_MONTHS": env_int("REGISTRY_PERMIT_VALID_MONTHS", 12),
    "PERMIT_REMINDER_DAYS": env_int("REGISTRY_PERMIT_REMINDER_DAYS", 30),
    # Star rating (PRODUCT.md): component weights and the thresholds for 5..2 stars.
    "RATING_WEIGHTS": {"registration": 30, "verification": 15, "inspection": 25, "occupancy": 15,
                       "agreement": 15},
    "RATING_STAR_THRESHOLDS": [(90, 5), (75, 4), (60, 3), (40, 2)],
    "INSPECTION_VALID_MONTHS": 12,
    # Requests per client address to the public page behind a plaque's QR code (django-ratelimit rate).
    "PLAQUE_RATE_LIMIT": env("REGISTRY_PLAQUE_RATE_LIMIT", "30/m"),
    # Dashboards keep their counts this long (0: count on every view); the page says when it counted.
    "DASHBOARD_CACHE_SECONDS": env_int("REGISTRY_DASHBOARD_CACHE_SECONDS", 60),
    # --- Sign-in (docs/security.md) ---
    # Roles that must use a second factor (superusers count as "admin"); others may enrol.
    # Paths whose query strings the search sealing leaves alone (registry/sealed_query.py).
    "SEALED_QUERY_EXEMPT": ["/api/", "/admin/"],
    # Unusual access, flagged nightly for supervisors (oversight/rules.py).
    "ACCESS_FLAGS": {
        "factor": env_int("REGISTRY_FLAG_FACTOR", 3), "floor": env_int("REGISTRY_FLAG_FLOOR", 50),
        "min_persons": env_int("REGISTRY_FLAG_NO_LINK_PERSONS", 5), "work_link_days": 30,
        "unmaskings": env_int("REGISTRY_FLAG_UNMASKINGS", 10),
        "working_hours": [env_int("REGISTRY_WORK_STARTS", 7), env_int("REGISTRY_WORK_ENDS", 20)],
        "after_hours_min": env_int("REGISTRY_FLAG_AFTER_HOURS", 1),
        "export_rows": env_int("REGISTRY_FLAG_EXPORT_ROWS", 1000),
    },
    "SECOND_FACTOR_ROLES": env_list("REGISTRY_SECOND_FACTOR_ROLES", "admin,supervisor,officer,staff"),
    "RECOVERY_CODES": 10,
    # Minutes without a request after which a session ends: station-side roles, portal accounts.
    "IDLE_MINUTES_STATION": env_int("REGISTRY_IDLE_MINUTES_STATION", 30),
    "IDLE_MINUTES_PORTAL": env_int("REGISTRY_IDLE_MINUTES_PORTAL", 120),
    # Station-side passwords: at least this long; none of a user's last PASSWORD_HISTORY passwords again.
    "STATION_PASSWORD_MIN_LENGTH": env_int("REGISTRY_STATION_PASSWORD_MIN_LENGTH", 12),
    "PASSWORD_HISTORY": env_int("REGISTRY_PASSWORD_HISTORY", 5),
    # An address with this many failed sign-ins within the window is refused for every account.
    "ADDRESS_FAILURE_LIMIT": env_int("REGISTRY_ADDRESS_FAILURE_LIMIT", 30),
    "ADDRESS_FAILURE_MINUTES": env_int("REGISTRY_ADDRESS_FAILURE_MINUTES", 15),
    # Invitations to portal accounts (one-time links) last longer than password resets.
    "INVITATION_DAYS": env_int("REGISTRY_INVITATION_DAYS", 3),
    # The audit chain (registry/audit_chain.py): an event written this much earlier than the one sealed before
    # it was back-dated (the longest transaction, an import, stays well under it); one left unsealed this long
    # means the sealing step is not running.
    "AUDIT_SEAL_TOLERANCE_SECONDS": env_int("REGISTRY_AUDIT_SEAL_TOLERANCE_SECONDS", 3600),
    # Retention (registry/retention.py): days after which records are deleted or anonymised each night.
    "RETENTION_DAYS": {
        # a landlord's or employer's report, after its decision (anonymised: the counts stay)
        "submissions": env_int("REGISTRY_RETENTION_SUBMISSION_DAYS", 365),
        # an import's report (its file is gone a day after the import), from its end
        "imports": env_int("REGISTRY_RETENTION_IMPORT_DAYS", 30),
        "idempotency": env_int("REGISTRY_RETENTION_IDEMPOTENCY_DAYS", 30),
        "read_notifications": env_int("REGISTRY_RETENTION_READ_NOTIFICATION_DAYS", 90),
        # a lodging guest's stay, from check-out (anonymised: the lodging keeps its counts)
        "stays": env_int("REGISTRY_RETENTION_STAY_DAYS", 365),
    },
    # Lodging (lodging/): a check-in recorded this long after the guest arrived is late; a guest still in after
    # this many days is pointed out to the station, which registers a residence.
    "LODGING_LATE_MINUTES": env_int("REGISTRY_LODGING_LATE_MINUTES", 60),
    "LODGING_LONG_STAY_DAYS": env_int("REGISTRY_LODGING_LONG_STAY_DAYS", 30),
    # API tokens: the expiry offered at creation, and the longest allowed.
    "TOKEN_DAYS_DEFAULT": env_int("REGISTRY_TOKEN_DAYS_DEFAULT", 90),
    "TOKEN_DAYS_MAX": min(365, env_int("REGISTRY_TOKEN_DAYS_MAX", 365)),
    # The streaming replica (DATABASE_REPLICA_URL; registry/db_router.py): a user reads from the primary this
    # long after a write of theirs; a replica further behind than this is skipped; its lag is measured this often.
    "REPLICA_READ_YOUR_WRITES_SECONDS": env_int("REGISTRY_REPLICA_READ_YOUR_WRITES_SECONDS", 5),
    "REPLICA_MAX_LAG_SECONDS": env_int("REGISTRY_REPLICA_MAX_LAG_SECONDS", 2),
    "REPLICA_PROBE_SECONDS": env_int("REGISTRY_REPLICA_PROBE_SECONDS", 2),
}
if DATABASE_REPLICA_URL:
    # Notes each write request's user, for read-your-writes (after AuthenticationMiddleware: it needs the user).
    MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                      "registry.db_router.ReplicaWriteMarkerMiddleware")

# The audit trail's own stream: every sealed event as a JSON line (registry/audit_chain.py), for an off-host
# collector; a file (default var/audit.jsonl, 0600) or "-" for standard output. Never mixed into the app log.
# Error reports without request parameters, cookies or frame variables (registry/logs.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "registry.logs.NoParametersReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "registry.logs.NoParametersExceptionReporter"
AUDIT_LOG_FILE = env("AUDIT_LOG_FILE", str(VAR_DIR / "audit.jsonl"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
                   "line": {"format": "%(message)s"}},
    # Every line of the application's log is redacted (registry.logs.PersonalDataFilter).
    "filters": {"personal_data": {"()": "registry.logs.PersonalDataFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["personal_data"]},
        "audit_stream": ({"class": "logging.StreamHandler", "formatter": "line", "stream": "ext://sys.stdout"}
                         if AUDIT_LOG_FILE == "-" else
                         {"()": "registry.logs.private_file_handler", "filename": AUDIT_LOG_FILE,
                          "formatter": "line"}),
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    # WeasyPrint and fontTools log every rendering step of a plaque PDF at INFO.
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"},
                "weasyprint": {"level": "WARNING"}, "fontTools": {"level": "WARNING"},
                "registry.audit.stream": {"handlers": ["audit_stream"], "level": "INFO", "propagate": False}},
}
