"""Django settings, every runtime value read from the environment.

The defaults give the embedded run: SQLite under ``var/``, debug off, a
generated secret kept on disk. Production sets ``DATABASE_URL``,
``SECRET_KEY`` and ``ALLOWED_HOSTS``.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

from smartapproval.core.env import env
from smartapproval.core.logging import configure_structlog, logging_config

PACKAGE_DIR = Path(__file__).resolve().parent
BASE_DIR = PACKAGE_DIR.parent.parent
VAR_DIR = Path(env("SMARTAPPROVAL_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    configured = env("SECRET_KEY")
    if configured:
        return configured
    # The embedded run keeps one generated key so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env("DEBUG", False)
ALLOWED_HOSTS = env("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env("CSRF_TRUSTED_ORIGINS", [])
CSRF_FAILURE_VIEW = "smartapproval.core.api.csrf_failure"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_tasks",
    "smartapproval.core.apps.TaskResultsConfig",
    "smartapproval.core.apps.LoginProtectionConfig",
    "smartapproval.core",
    "smartapproval.accounts",
    "smartapproval.audit",
    "smartapproval.catalogue",
    "smartapproval.parties",
    "smartapproval.cases",
    "smartapproval.hall",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "smartapproval.core.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "smartapproval.core.middleware.RequestContextMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "smartapproval.urls"
WSGI_APPLICATION = "smartapproval.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# Database: SQLite in WAL mode is the embedded default; PostgreSQL through
# DATABASE_URL in production.
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'smartapproval.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Connections are kept for a minute, as for PostgreSQL: opening one per
    # request (the file, the pragmas, Django's SQL functions) cost 1.5 ms of
    # CPU, more than the bare insert itself (bench/README.md). Each gunicorn
    # thread keeps its own; outside a transaction none holds a lock or a WAL
    # snapshot, so checkpoints and other writers are not held up.
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue on the
        # busy timeout instead of failing half-way: SQLite's row lock.
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        # synchronous=NORMAL in WAL mode: a commit is written to the WAL but
        # not fsynced; the WAL is synced at each checkpoint. The file cannot
        # be corrupted and a crash of the server process loses nothing; a
        # power cut or an OS crash may lose the last commits (the database
        # is then as it was a moment earlier, consistent). That is the
        # embedded run's trade-off; deployments that cannot lose a
        # committed case run PostgreSQL (bench/README.md has both).
        "init_command": (
            "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON;"
        ),
    }
    # A file per test process: concurrency tests need a real file, and two
    # test runs on one machine must not share it.
    DATABASES["default"]["TEST"] = {
        "NAME": env("TEST_DATABASE_NAME", str(VAR_DIR / f"test-{os.getpid()}.sqlite3"))
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache lives in the database so every gunicorn worker sees the same
# counters (rate limits); `serve` runs createcachetable, and Django's test
# database creation does too.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "smartapproval_cache",
    }
}

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "hall:index"
AXES_FAILURE_LIMIT = env("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 0.5  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_ENABLED = env("AXES_ENABLED", True)
AXES_LOCKOUT_CALLABLE = "smartapproval.accounts.views.locked_out"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True

# Uploads: size and type limits for case materials.
UPLOAD_MAX_BYTES = env("UPLOAD_MAX_BYTES", 20 * 1024 * 1024)
UPLOAD_ALLOWED_EXTENSIONS = env(
    "UPLOAD_ALLOWED_EXTENSIONS",
    ["pdf", "jpg", "jpeg", "png", "ofd", "doc", "docx", "xls", "xlsx", "zip"],
)
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# The region code that prefixes case numbers (GB/T 2260).
SMARTAPPROVAL_REGION_CODE = env("SMARTAPPROVAL_REGION_CODE", "511602")
# Working days left at which a case or task turns yellow.
SMARTAPPROVAL_WARNING_DAYS = env("SMARTAPPROVAL_WARNING_DAYS", 2)
# 容缺受理: working days after the promised day for the deferred materials
# before the application is returned (退件).
SMARTAPPROVAL_DEFERRAL_CUTOFF_DAYS = env("SMARTAPPROVAL_DEFERRAL_CUTOFF_DAYS", 15)
SMARTAPPROVAL_CATALOGUE_DIR = env("SMARTAPPROVAL_CATALOGUE_DIR", "")
# The address printed in QR codes of decisions and e-licences; by default
# the embedded run's own, on the port it serves (PORT).
SMARTAPPROVAL_PUBLIC_URL = env(
    "SMARTAPPROVAL_PUBLIC_URL", f"http://127.0.0.1:{env('PORT', 8000)}"
)
# Failed public progress lookups (case number and applicant code) one client
# address may make within the window (seconds) before it is refused with 429.
SMARTAPPROVAL_PROGRESS_FAILURE_LIMIT = env("SMARTAPPROVAL_PROGRESS_FAILURE_LIMIT", 10)
SMARTAPPROVAL_PROGRESS_FAILURE_WINDOW = env(
    "SMARTAPPROVAL_PROGRESS_FAILURE_WINDOW", 600
)
# Called as ``hook(years=[...])`` after a calendar change commits, so open
# deadlines in those years are computed again (core may not import cases).
SMARTAPPROVAL_CALENDAR_CHANGED_HOOKS = [
    "smartapproval.cases.deadlines.calendar_changed",
]
# The audit writer core's calendar services call inside their transaction;
# a dotted path because core sits left of the audit app.
SMARTAPPROVAL_AUDIT_RECORDER = "smartapproval.audit.services.audit_record"

REST_FRAMEWORK = {
    # Token first: DRF takes the first class's WWW-Authenticate header, so an
    # anonymous request is answered 401 with a challenge instead of 403.
    # Session requests still go through SessionAuthentication's CSRF check.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "smartapproval.core.api.exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Smart Approval API",
    "DESCRIPTION": (
        "智慧审批 REST API: catalogue, cases, tasks, applicants, calendar, codes."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc from the sidecar package: the docs work offline
    # and their version is pinned with ours, not fetched from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "status" or a limit unit; name each choice set
    # after its model so the schema's enums are stable.
    "ENUM_NAME_OVERRIDES": {
        "CaseStatusEnum": "smartapproval.cases.models.CaseStatus",
        "TaskStatusEnum": "smartapproval.cases.models.TaskStatus",
        "ItemStatusEnum": "smartapproval.catalogue.models.ItemStatus",
        "LimitUnitEnum": "smartapproval.core.models.LimitUnit",
        "TaskKindEnum": "smartapproval.cases.models.TaskKind",
        "SignerKindEnum": "smartapproval.cases.models.SignerKind",
        "CommitmentKindEnum": "smartapproval.cases.models.CommitmentKind",
        "TaskOutcomeEnum": "smartapproval.cases.models.TaskOutcome",
        "VerificationOutcomeEnum": "smartapproval.cases.models.VerificationOutcome",
        "TaskRecordedOutcomeEnum": "smartapproval.cases.models.TASK_OUTCOME_CHOICES",
    },
}

TASKS = {
    "default": {
        "BACKEND": env("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env("CSRF_COOKIE_SECURE", False)
X_FRAME_OPTIONS = "DENY"

LOG_LEVEL = env("LOG_LEVEL", "INFO")
# Gunicorn's access lines, one JSON record per request (`serve` also passes
# --access-logfile to gunicorn, without which it writes none).
ACCESS_LOG = env("ACCESS_LOG", False)
LOGGING = logging_config(LOG_LEVEL, access_log=ACCESS_LOG)
configure_structlog()
