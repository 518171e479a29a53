"""Settings of the bench's peer: django-allauth 65 headless, app clients, JWT access tokens.

Read from the environment that ``bench.run`` sets: ``PEER_DATABASE_URL`` (its own database on
the same server as hankoflow's bench database), ``CACHE_URL`` (the same Redis, under its own key
prefix; locmem when unset), ``SECRET_KEY``, ``PEER_JWT_PRIVATE_KEY`` (RSA, PEM, made per run) and
``BENCH_MAIL_DIR``. Bench-only switches, as in ``bench/settings.py`` and for the same reasons:
the MD5 password hasher, the rate limits of requests off, the login code written to a file
(``bench.mail.CodeFileBackend``: a 6-digit code alone on a line, like hankoflow's passcode).

Failed sign-ins stay limited on both sides. hankoflow counts them in its attempt budgets, which
no setting turns off; allauth counts them in its ``login_failed`` rate limit, on here with
allauth's default per email (5 in 5 minutes). allauth's default also counts per client address
(10 a minute): that part is off, as every bench client is 127.0.0.1 and all logins would queue
on one lock in the cache. hankoflow's budgets have no such shared row either (each is per
account, across networks and per network). ``PEER_FAILED_LOGIN_LIMIT=0`` turns allauth's limit
off too, as in the bench's runs before issue 16's sixth pass.
"""

import os

# allauth's jwkkit uses cryptography.hazmat.primitives.serialization without importing it; with
# cryptography 50 nothing else imports it first (AttributeError on the first login). Import it.
import cryptography.hazmat.primitives.serialization  # noqa: F401
import environ

env = environ.Env()

SECRET_KEY = env.str("SECRET_KEY")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
ROOT_URLCONF = "bench.peer.urls"
WSGI_APPLICATION = "bench.peer.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "rest_framework",
    "allauth",
    "allauth.account",
    "allauth.headless",
]
# The same Django middleware as hankoflow's project, minus the apps it does not install
# (messages) and plus allauth's own.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
AUTHENTICATION_BACKENDS = ["allauth.account.auth_backends.AuthenticationBackend"]

DATABASES = {"default": env.db("PEER_DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)  # as hankoflow's
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # as hankoflow's, for the same reasons
    DATABASES["default"]["ENGINE"] = "hankoflow.db.postgresql"  # Django + psycopg only
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
    DATABASES["default"]["OPTIONS"].update(
        {
            "server_side_binding": True,
            "prepare_threshold": 2 if env.bool("DATABASE_PREPARED_STATEMENTS", True) else None,
        }
    )
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # the --db sqlite run: as hankoflow's
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
_cache_url = env.str("CACHE_URL", default="") or env.str("REDIS_URL", default="")
CACHES = {
    "default": {
        **(
            env.cache_url_config(_cache_url)
            if _cache_url
            else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
        ),
        "KEY_PREFIX": "bench-peer",
    }
}
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    # As hankoflow's: the same backend, keeping its Redis clients (hankoflow/cache.py imports
    # only Django). allauth's failed-login limit sends its commands through it.
    CACHES["default"]["BACKEND"] = "hankoflow.cache.RedisCache"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # BENCH ONLY
EMAIL_BACKEND = "bench.mail.CodeFileBackend"  # BENCH ONLY: codes in clear files
DEFAULT_FROM_EMAIL = "bench@example.com"

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "optional"
# BENCH ONLY: the limits of requests off, like hankoflow's RATE_LIMITER (the bench's many logins
# from 127.0.0.1 would get 429); failed sign-ins limited per email, as above. Every action of
# allauth 65.22 (bench/peer/requirements.txt) is named: a missing one would keep its default.
# PEER_FAILED_LOGIN_LIMIT=0 (bin/bench --peer-without-failed-login-limit): every limit off, the
# peer of the bench's earlier runs.
ACCOUNT_RATE_LIMITS = {
    **dict.fromkeys(
        (
            "change_password",
            "change_phone",
            "manage_email",
            "reset_password",
            "reauthenticate",
            "reset_password_from_key",
            "signup",
            "login",
            "request_login_code",
            "confirm_email",
            "verify_phone",
        ),
        None,
    ),
    "login_failed": "5/300s/key",  # allauth's default per email (LOGIN_ATTEMPTS_LIMIT/TIMEOUT)
}
if not env.bool("PEER_FAILED_LOGIN_LIMIT", default=True):
    ACCOUNT_RATE_LIMITS = False
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_BY_CODE_FORMAT = {"numeric": True, "length": 6, "dashed": False}  # as Hanko's

HEADLESS_ONLY = True
HEADLESS_CLIENTS = ("app",)
HEADLESS_FRONTEND_URLS = {"account_signup": "http://127.0.0.1/signup"}
HEADLESS_TOKEN_STRATEGY = "allauth.headless.tokens.strategies.jwt.strategy.JWTTokenStrategy"  # noqa: S105
HEADLESS_JWT_PRIVATE_KEY = os.environ.get("PEER_JWT_PRIVATE_KEY", "")
HEADLESS_JWT_ACCESS_TOKEN_EXPIRES_IN = 3600  # outlives the run: the check must not expire
# The default: the access token alone proves the user (no session lookup per request).
HEADLESS_JWT_STATEFUL_VALIDATION_ENABLED = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}},
}
