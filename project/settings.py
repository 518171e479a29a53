"""Settings of the demo/reference project, read from the environment with django-environ.

With no environment at all this runs the zero-setup demo: SQLite, in-memory cache, Celery tasks
run eagerly, emails to the console. Every external service is switched on by one variable:
``DATABASE_URL``, ``CACHE_URL``/``REDIS_URL``, ``EMAIL_URL``, ``CELERY_BROKER_URL``.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from project import secret_key

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local .env (gitignored; bin/demo writes DEBUG=1 there) fills in what the environment does
# not set, so `.venv/bin/python manage.py ...` works without exporting anything first.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

# With DEBUG off a weak key (empty, well known, short or predictable) is refused; the rule is in
# project/secret_key.py.
SECRET_KEY = env.str("SECRET_KEY", default=secret_key.DEMO_SECRET_KEY if DEBUG else "")
if not DEBUG and (_weakness := secret_key.weakness(SECRET_KEY)):
    raise ImproperlyConfigured(
        f"SECRET_KEY {_weakness}. Set a random one "
        "(python -c 'import secrets; print(secrets.token_urlsafe(50))') or run with DEBUG=1."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "hankoflow",
    "project",
]

MIDDLEWARE = [
    # First, so CORS headers reach every response; it makes a Hanko session ``request.user`` in
    # process_view, i.e. after AuthenticationMiddleware below has run.
    "hankoflow.middleware.HankoflowMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# HTTPS. The demo serves plain http://localhost, where Secure cookies would not be sent and a
# redirect to https would lead nowhere, so every one defaults off; behind a proxy that ends TLS
# (deploy/hankoflow.env.example) all are on and `manage.py check --deploy` is silent.
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
# Health probes talk to gunicorn directly over http (compose's healthcheck, a load balancer).
SECURE_REDIRECT_EXEMPT = [r"^health/"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# "HTTP_X_FORWARDED_PROTO,https": the header the proxy sets (and overwrites) and the value that
# means the client used https. Only behind such a proxy: a client could send it itself.
_proxy_ssl_header = env.tuple("SECURE_PROXY_SSL_HEADER", default=())
if _proxy_ssl_header and len(_proxy_ssl_header) != 2:
    raise ImproperlyConfigured(
        "SECURE_PROXY_SSL_HEADER must be a header and a value, e.g. HTTP_X_FORWARDED_PROTO,https"
    )
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) or None

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"

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
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Keep connections between requests (a new PostgreSQL connection costs more than most steps).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # libpq waits for a server that does not answer for ever, and the worker with it until
    # gunicorn kills it; bounded, the step answers 503 with Retry-After (http/availability.py).
    # A connect_timeout in DATABASE_URL (?connect_timeout=10) wins.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    # Django's backend whose per-request health check (CONN_HEALTH_CHECKS) asks the socket
    # instead of sending SELECT 1 when it can (hankoflow/db/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "hankoflow.db.postgresql"
    # Parameters bound by the server, and a statement a connection runs a second time prepared:
    # a persistent connection runs the same few statements request after request, and PostgreSQL
    # then skips parsing and planning them. A pooler that cannot keep prepared statements on a
    # server connection (PgBouncer in transaction mode before 1.21, or without
    # max_prepared_statements) needs DATABASE_PREPARED_STATEMENTS=0: none (Django's default).
    DATABASES["default"]["OPTIONS"].update(
        {
            "server_side_binding": True,
            "prepare_threshold": 2 if env.bool("DATABASE_PREPARED_STATEMENTS", True) else None,
        }
    )
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Take SQLite's write lock when a transaction starts, and wait for it: a flow step reads,
    # then writes, and two deferred transactions doing that would fail with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )

_cache_url = env.str("CACHE_URL", default="") or env.str("REDIS_URL", default="")
CACHES = {
    "default": env.cache_url_config(_cache_url)
    if _cache_url
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # The same backend, keeping its Redis clients (hankoflow/cache.py says why).
    CACHES["default"]["BACKEND"] = "hankoflow.cache.RedisCache"

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Hanko <noreply@hanko.io>")

# Celery: no broker configured means tasks run in-process, right away.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# kombu's Redis transport ignores CELERY_BROKER_CONNECTION_TIMEOUT: without socket timeouts a
# hung Redis blocks a publish, and with it the flow step's response, for ever (RE-03).
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "socket_timeout": 2}
# Celery beat (`celery -A project beat`): send what the outbox and the webhook deliveries still
# hold, e.g. after the broker was down when a step committed (hankoflow/tasks.py). Expired runs
# are dropped, not stacked.
CELERY_BEAT_SCHEDULE = {
    "hankoflow-send-pending-outbox": {
        "task": "hankoflow.send_pending_outbox",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "hankoflow-send-pending-webhooks": {
        "task": "hankoflow.send_pending_webhooks",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "hankoflow-cleanup": {
        "task": "hankoflow.cleanup",
        "schedule": 3600.0,
        "options": {"expires": 3000},
    },
    "hankoflow-rotate-signing-key": {
        "task": "hankoflow.rotate_signing_key",
        "schedule": 3600.0,
        "options": {"expires": 3000},
    },
}

# Argon2id first (argon2-cffi); PBKDF2 stays so older hashes verify and get upgraded on login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / ".run" / "static"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# login_required pages send a signed-out person to the flow page, which brings them back (?next=).
LOGIN_URL = "/?flow=login"
LOGIN_REDIRECT_URL = "/protected/"

# The frontends allowed to call this server (CORS and WebAuthn origins). By default the demo's own
# pages on the port it serves (bin/demo: PORT, default 8000).
PORT = env.int("PORT", default=8000)
ALLOWED_ORIGINS = env.list(
    "HANKOFLOW_ALLOWED_ORIGINS", default=[f"http://localhost:{PORT}", f"http://127.0.0.1:{PORT}"]
)

HANKOFLOW = {
    "DEBUG": DEBUG,
    "CORS": {"ALLOW_ORIGINS": ALLOWED_ORIGINS},
    "FLOW": {"TTL": env.int("HANKOFLOW_FLOW_TTL", default=24 * 3600)},
    # "redis" keeps flows in the default cache's Redis instead of the database (needs CACHE_URL).
    "FLOW_STORE": env.str("HANKOFLOW_FLOW_STORE", default="database"),
    "WEBAUTHN": {
        "RELYING_PARTY": {
            "ID": env.str("HANKOFLOW_RP_ID", default="localhost"),
            "ORIGINS": ALLOWED_ORIGINS,
        }
    },
    # The demo runs on plain http://localhost, where a Secure cookie would not be sent.
    "SESSION": {"COOKIE": {"SECURE": env.bool("HANKOFLOW_SECURE_COOKIES", default=not DEBUG)}},
    # Behind a proxy: the header that carries the client's address, trusted only from these
    # networks (CIDRs); otherwise rate limits and audit entries see the proxy's address.
    "SERVER": {
        "IP": {
            "EXTRACTOR": env.str("HANKOFLOW_IP_EXTRACTOR", default="direct"),
            "TRUSTED_PROXIES": env.list("HANKOFLOW_TRUSTED_PROXIES", default=[]),
        }
    },
    # Webhook callbacks on private addresses are refused unless allowed (tests/integration's
    # receiver listens on 127.0.0.1); the retry variables let those tests retry quickly.
    "WEBHOOKS": {
        "ALLOW_PRIVATE_NETWORKS": env.bool(
            "HANKOFLOW_WEBHOOKS_ALLOW_PRIVATE_NETWORKS", default=False
        ),
        "RETRY": {
            "MAX_ATTEMPTS": env.int("HANKOFLOW_WEBHOOKS_RETRY_MAX_ATTEMPTS", default=6),
            "BASE_DELAY": env.int("HANKOFLOW_WEBHOOKS_RETRY_BASE_DELAY", default=30),
        },
    },
}

# DRF: a Hanko session (Bearer token or cookie) authenticates API views; Django's own session
# (the admin's login) still works next to it.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "hankoflow.api.authentication.HankoSessionAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # OPTIONS answers with Allow only, not the view's name and docstring.
    "DEFAULT_METADATA_CLASS": "hankoflow.api.metadata.NoMetadata",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_context": {"()": "hankoflow.api.request_log.RequestContextFilter"}},
    "formatters": {
        "request": {
            "format": "%(levelname)s %(method)s %(path)s flow=%(flow_id)s "
            "request=%(request_id)s: %(message)s"
        },
        # The flow and request ids of the step being run: grep one flow across workers.
        "hankoflow": {
            "format": "%(levelname)s %(name)s flow=%(flow_id)s request=%(request_id)s: %(message)s"
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "hankoflow_console": {
            "class": "logging.StreamHandler",
            "formatter": "hankoflow",
            # On the handler, so records of child loggers (hankoflow.engine, ...) get the ids.
            "filters": ["request_context"],
        },
        "request_console": {"class": "logging.StreamHandler", "formatter": "request"},
    },
    "loggers": {
        "hankoflow": {"handlers": ["hankoflow_console"], "level": env.str("LOG_LEVEL", "INFO")},
        # Audit entries stay one JSON line each (Hanko's console output; it has the request id).
        "hankoflow.audit": {"handlers": ["console"], "propagate": False},
        # 5xx answers and unhandled exceptions (with the traceback), also with DEBUG off, where
        # Django's default would only mail them to ADMINS. 4xx stay quiet: clients cause them.
        "django.request": {
            "handlers": ["request_console"],
            "level": "ERROR",
            "filters": ["request_context"],
            "propagate": False,
        },
    },
}
