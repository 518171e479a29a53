"""hankoflow's settings: one ``HANKOFLOW`` dict in Django settings, read through ``settings``.

Keys mirror Hanko's configuration (platform.md §11, flow-api.md §5) in upper case, so a Hanko
YAML maps across key by key: ``session.cookie.same_site`` is ``HANKOFLOW["SESSION"]["COOKIE"]
["SAME_SITE"]``, read as ``settings.SESSION.COOKIE.SAME_SITE``. Defaults are Hanko's code
defaults. Durations are whole seconds (Hanko writes ``12h``; we write ``43200``).

Only the keys a project changes need to be given; the rest come from ``DEFAULTS``. The object
reloads itself when Django's ``setting_changed`` fires, so ``override_settings`` works in tests.
"""

from __future__ import annotations

import copy
from typing import Any

from django.conf import settings as django_settings
from django.core.signals import setting_changed

DEFAULTS: dict[str, Any] = {
    # Adds a ``cause`` to flow errors (never enable in production).
    "DEBUG": False,
    # Dotted path of the adapter class: the project's plug-in point for creating Django users
    # (subclass hankoflow.adapter.DefaultHankoflowAdapter).
    "ADAPTER": "hankoflow.adapter.DefaultHankoflowAdapter",
    "SERVICE": {"NAME": "Hanko Authentication Service"},
    "CORS": {
        # Origins allowed to call the API with credentials; ``*`` and ``?`` wildcards allowed.
        "ALLOW_ORIGINS": ["http://localhost:8888"],
        # A bare ``*`` is refused unless this is on (browsers reject it with credentials).
        "UNSAFE_WILDCARD_ORIGIN_ALLOWED": False,
    },
    "FLOW": {
        # Lifetime of login, registration and profile flows; token_exchange lives 3600 s.
        "TTL": 24 * 3600,
        # Larger request bodies on the flow endpoints are refused with 413.
        "MAX_BODY_SIZE": 64 * 1024,
        # Not in Hanko. False: a flow whose start changes nothing (login, registration) is
        # stored at its first action, so POST /login writes nothing (engine/unstored_start.py).
        # True: every flow is stored when it starts, as Hanko does; flow inspection and the
        # funnel then also count clients that started a flow and never acted.
        "STORE_AT_START": False,
    },
    # Not in Hanko: where flows are kept between steps (hankoflow/services/flow_store.py).
    # "database": the hankoflow_flow table, each step locking its row. "redis": a Redis hash per
    # flow with a short claim instead of the row lock (hankoflow/services/flow_store_redis.py);
    # no flow SQL at all, but the admin's flow pages and the funnel see no flows.
    "FLOW_STORE": "database",
    # The Django cache alias whose Redis the "redis" store uses; it must be a Redis cache
    # (django.core.cache.backends.redis.RedisCache or hankoflow.cache.RedisCache; E012).
    "FLOW_STORE_CACHE": "default",
    # Not in Hanko: the Flow Execution API, POST /flow/execute (docs/flow-execution.md). A
    # flowType outside FLOW_TYPES, or whose flow is not installed, answers flow_type_disabled.
    "FLOW_EXECUTION": {
        "ENABLED": True,
        "FLOW_TYPES": ["REGISTRATION", "PASSWORD_RECOVERY", "INVITED_USER_REGISTRATION"],
        # A completed flow that signed the person in also answers data.userAssertion, a
        # 60-second JWT an app redeems once at POST /flow/assertion for a session of its own.
        "AUTO_LOGIN": False,
    },
    "ACCOUNT": {"ALLOW_SIGNUP": True, "ALLOW_DELETION": False},
    "EMAIL_DELIVERY": {
        "ENABLED": True,
        # How an email leaves once its flow step has committed (hankoflow/services/mail/
        # dispatch.py): "celery" publishes the task hankoflow.send_outbox_email through Celery's
        # current app; "inline" sends it in the web process right after the commit; "auto" is
        # "celery" when Celery is installed and its app has a broker or runs tasks eagerly, else
        # "inline". Either way the adapter's send_mail sends it (Django's EMAIL_BACKEND).
        "MODE": "auto",
        "FROM_ADDRESS": "noreply@hanko.io",
        "FROM_NAME": "Hanko",
        # Sent and failed outbox rows older than this are deleted by ``manage.py
        # hankoflow_cleanup`` (0: kept for ever). Pending rows are never deleted.
        "OUTBOX_RETENTION": 7 * 24 * 3600,
    },
    "EMAIL": {
        "ENABLED": True,
        "OPTIONAL": False,
        "ACQUIRE_ON_REGISTRATION": True,
        "ACQUIRE_ON_LOGIN": True,
        "REQUIRE_VERIFICATION": True,
        "USE_AS_LOGIN_IDENTIFIER": True,
        "USE_FOR_AUTHENTICATION": True,
        "LIMIT": 5,
        "MAX_LENGTH": 120,
        "PASSCODE_TTL": 300,
        "PASSCODE_CHARSET": "numeric",
    },
    "USERNAME": {
        "ENABLED": False,
        "OPTIONAL": True,
        "ACQUIRE_ON_REGISTRATION": True,
        "ACQUIRE_ON_LOGIN": True,
        "USE_AS_LOGIN_IDENTIFIER": True,
        "MIN_LENGTH": 3,
        "MAX_LENGTH": 32,
    },
    "PASSWORD": {
        "ENABLED": True,
        "OPTIONAL": False,
        "ACQUIRE_ON_REGISTRATION": "always",
        "ACQUIRE_ON_LOGIN": "never",
        "RECOVERY": True,
        "MIN_LENGTH": 8,
    },
    "PASSKEY": {
        "ENABLED": True,
        "OPTIONAL": True,
        "ACQUIRE_ON_REGISTRATION": "always",
        "ACQUIRE_ON_LOGIN": "always",
        "USER_VERIFICATION": "preferred",
        "ATTESTATION_PREFERENCE": "direct",
        "LIMIT": 10,
    },
    "MFA": {
        "ENABLED": True,
        "OPTIONAL": True,
        "ACQUIRE_ON_REGISTRATION": True,
        "ACQUIRE_ON_LOGIN": False,
        "DEVICE_TRUST_POLICY": "prompt",
        "DEVICE_TRUST_DURATION": 720 * 3600,
        "DEVICE_TRUST_COOKIE_NAME": "hanko-device-token",
        "DEVICE_TRUST_MAX_USERS_PER_DEVICE": 20,
        "TOTP": {"ENABLED": True},
        "SECURITY_KEYS": {
            "ENABLED": True,
            "LIMIT": 10,
            "USER_VERIFICATION": "discouraged",
            "ATTESTATION_PREFERENCE": "direct",
            "AUTHENTICATOR_ATTACHMENT": "cross-platform",
        },
    },
    "WEBAUTHN": {
        "RELYING_PARTY": {
            "ID": "localhost",
            "DISPLAY_NAME": "Hanko Authentication Service",
            "ORIGINS": ["http://localhost:8888"],
        },
        "TIMEOUTS": {"REGISTRATION": 600_000, "LOGIN": 600_000},
    },
    "SESSION": {
        "LIFESPAN": 12 * 3600,
        "LIMIT": 5,
        "IDLE_TIMEOUT": 0,
        "AUDIENCE": [],  # empty: [WEBAUTHN.RELYING_PARTY.ID]
        "ISSUER": "",
        "ENABLE_AUTH_TOKEN_HEADER": False,
        "ALLOW_REVOCATION": True,
        "SHOW_ON_PROFILE": True,
        "ACQUIRE_IP_ADDRESS": True,
        "ACQUIRE_USER_AGENT": True,
        # Not in Hanko: request.user trusts a session's "valid" entry in RATE_LIMITER.CACHE for
        # up to 5 s instead of reading its row; every way a session ends marks it ended there
        # first (services/sessions/validity.py). Needs a shared cache (Redis); off: every
        # request reads the row.
        "VALIDITY_CACHE": True,
        # session.jwt_template.claims: custom claims rendered from templates over the user's
        # data (platform.md §2.1.2; hankoflow/jwt_template/). None by default.
        "JWT_TEMPLATE": {"CLAIMS": {}},
        # The beat task hankoflow.rotate_signing_key makes a new signing key once the current
        # one is this old (0: never; rotate by hand with ``manage.py hankoflow_jwk --rotate``).
        "KEY_ROTATION": {"INTERVAL": 0},
        "COOKIE": {
            "NAME": "hanko",
            "DOMAIN": "",
            "HTTP_ONLY": True,
            "SECURE": True,
            "SAME_SITE": "strict",
            "RETENTION": "persistent",
        },
    },
    # Audit log entries older than RETENTION are deleted by ``manage.py hankoflow_cleanup``
    # (0: kept for ever). Hanko: audit_log.retention, default 720h, used only by hanko cleanup.
    "AUDIT_LOG": {"RETENTION": 720 * 3600},
    "PRIVACY": {"SHOW_ACCOUNT_EXISTENCE_HINTS": False, "ONLY_SHOW_ACTUAL_LOGIN_METHODS": False},
    "RATE_LIMITER": {
        "ENABLED": True,
        # Django cache alias holding the buckets (Redis in production).
        "CACHE": "default",
        "PASSCODE_LIMITS": {"TOKENS": 3, "INTERVAL": 60},
        # Not in Hanko: sends to one email address from any client (security-checks PC-06).
        # Generous, as anyone can spend it: whoever uses it up holds back the owner's codes
        # until the window ends.
        "PASSCODE_EMAIL_LIMITS": {"TOKENS": 10, "INTERVAL": 900},
        "PASSWORD_LIMITS": {"TOKENS": 5, "INTERVAL": 60},
        "OTP_LIMITS": {"TOKENS": 3, "INTERVAL": 60},
        "TOKEN_LIMITS": {"TOKENS": 3, "INTERVAL": 60},
    },
    "SERVER": {
        # How the client IP is found: "direct" (REMOTE_ADDR), "x_forwarded_for" or
        # "x_real_ip" (honoured only from TRUSTED_PROXIES, a list of CIDRs).
        "IP": {"EXTRACTOR": "direct", "TRUSTED_PROXIES": []},
    },
    "THIRD_PARTY": {
        # The callback URL registered at every provider (``<base>/thirdparty/callback``); empty:
        # built from the request. Redirect targets after the callback: ALLOWED_REDIRECT_URLS
        # (globs, platform.md §9.3) and ERROR_REDIRECT_URL, where errors go when no target is known.
        "REDIRECT_URL": "",
        "ERROR_REDIRECT_URL": "",
        "DEFAULT_REDIRECT_URL": "",
        "ALLOWED_REDIRECT_URLS": [],
        "PROVIDERS": {},
        "CUSTOM_PROVIDERS": {},
    },
    # Not in Hanko: /metrics for Prometheus (the `metrics` extra). TOKEN (a bearer token) and
    # ALLOWED_NETWORKS (CIDRs of the client IP) guard it; with neither set it answers 403.
    "METRICS": {"ENABLED": False, "TOKEN": "", "ALLOWED_NETWORKS": []},
    # SAML 2.0 service provider (platform.md §9.5; the `saml` extra and the xmlsec1 binary).
    # ENDPOINT_URL: this server's public base (SP entity id; ACS = <ENDPOINT_URL>/saml/callback);
    # AUDIENCE_URI: the audience assertions must name (empty: ENDPOINT_URL). SP_CERTIFICATE and
    # SP_PRIVATE_KEY: PEM, signing and decryption (Hanko generates them; we read them from
    # settings). IDENTITY_PROVIDERS: [{"ENABLED", "NAME", "DOMAIN", "METADATA_URL" or "METADATA"
    # (the XML), "SKIP_EMAIL_VERIFICATION", "ATTRIBUTE_MAP": {hanko claim: attribute name},
    # "ALLOW_SHA1"}]. Not in Hanko: ALLOW_SHA1 (default False) accepts SHA-1 signatures and
    # digests from that IdP; without it they are refused (security-checks SA-05).
    "SAML": {
        "ENABLED": False,
        "ENDPOINT_URL": "",
        "AUDIENCE_URI": "",
        "DEFAULT_REDIRECT_URL": "",
        "ALLOWED_REDIRECT_URLS": [],
        "SP_CERTIFICATE": "",
        "SP_PRIVATE_KEY": "",
        # Hanko's code defaults (all off). SKIP_SIGNATURE_VALIDATION is refused by a check.
        "OPTIONS": {
            "SIGN_AUTHN_REQUESTS": False,
            "FORCE_LOGIN": False,
            "VALIDATE_ENCRYPTION_CERT": False,
            "SKIP_SIGNATURE_VALIDATION": False,
            "ALLOW_MISSING_ATTRIBUTES": False,
        },
        # Not in Hanko: how long fetched IdP metadata is kept in Django's cache, in seconds.
        "METADATA_CACHE_TIMEOUT": 3600,
        "IDENTITY_PROVIDERS": [],
    },
    # Emails that tell a person about a change to their account (platform.md §7.4), each
    # switched on or off by its template name.
    "SECURITY_NOTIFICATIONS": {
        "NOTIFICATIONS": {
            kind: {"ENABLED": True}
            for kind in (
                "PASSWORD_UPDATE",
                "PRIMARY_EMAIL_UPDATE",
                "EMAIL_CREATE",
                "EMAIL_DELETE",
                "PASSKEY_CREATE",
                "MFA_CREATE",
                "MFA_DELETE",
            )
        }
    },
    # Hanko's webhooks (platform.md §5). HOOKS: [{"CALLBACK": url, "EVENTS": [...]}] from
    # settings, sent when ENABLED; hooks made through the admin API are always sent.
    # Not in Hanko: deliveries are retried (RETRY.*), and callbacks on private, loopback or
    # link-local addresses are refused unless ALLOW_PRIVATE_NETWORKS (server-side request
    # forgery); TIMEOUT is per request, in seconds.
    "WEBHOOKS": {
        "ENABLED": False,
        "HOOKS": [],
        "ALLOW_TIME_EXPIRATION": False,
        "ALLOW_PRIVATE_NETWORKS": False,
        "TIMEOUT": 10,
        "RETRY": {"MAX_ATTEMPTS": 6, "BASE_DELAY": 30},
        # Sent and failed deliveries (with their attempts) older than this are deleted by
        # ``manage.py hankoflow_cleanup`` (0: kept for ever). Pending ones are never deleted.
        "RETENTION": 7 * 24 * 3600,
    },
    # Not in Hanko (whose admin API has no keys and no limits): requests per API key.
    "ADMIN_API": {"RATE_LIMIT": {"TOKENS": 600, "INTERVAL": 60}},
    # Hanko's Passkey API for projects that keep their own login (docs/passkey-api.md): one
    # tenant; TENANT_ID (a UUID) also serves the routes under /<TENANT_ID>/. TOKEN_LIFESPAN:
    # seconds a finalize token is valid (it is redeemed once by PasskeyBackend).
    "PASSKEY_API": {"TENANT_ID": "", "TOKEN_LIFESPAN": 60},
    # Not in Hanko: a sensitive change in the profile flow (password, email, credential removal,
    # account deletion) asks the person to prove who they are again when the session's last
    # authentication is older than this many seconds (0: never ask, as Hanko).
    "PROFILE": {"REAUTHENTICATION_MAX_AGE": 600},
    # Not in Hanko (issue 15): the standalone ``password_recovery`` flow, offered while
    # PASSWORD.ENABLED and PASSWORD.RECOVERY are on. AUTO_LOGIN: end in ``success`` with a
    # session (after the enrolled second factor) instead of ``password_changed``.
    "PASSWORD_RECOVERY": {"AUTO_LOGIN": False},
    # Not in Hanko (issue 15): invitations and the ``invited_registration`` flow. TTL: seconds an
    # invitation's code is valid. URL: a link for the email, "{code}" and "{email}" filled in
    # (e.g. "https://app.example/invite?code={code}&email={email}"); empty: the code only.
    "INVITATIONS": {"ENABLED": True, "TTL": 7 * 24 * 3600, "URL": ""},
    # Hanko v2's endpoint-style public API (platform.md §3.3: /password/login, /emails, /token,
    # /user...), removed in Hanko v3: off by default, its routes then answer 404.
    "LEGACY_API": {"ENABLED": False},
}

CHOICES: dict[str, tuple[str, ...]] = {
    "EMAIL_DELIVERY.MODE": ("auto", "celery", "inline"),
    "FLOW_STORE": ("database", "redis"),
    "EMAIL.PASSCODE_CHARSET": ("numeric", "alphanumeric"),
    "PASSWORD.ACQUIRE_ON_REGISTRATION": ("always", "conditional", "never"),
    "PASSWORD.ACQUIRE_ON_LOGIN": ("always", "conditional", "never"),
    "PASSKEY.ACQUIRE_ON_REGISTRATION": ("always", "conditional", "never"),
    "PASSKEY.ACQUIRE_ON_LOGIN": ("always", "conditional", "never"),
    "PASSKEY.USER_VERIFICATION": ("required", "preferred", "discouraged"),
    "PASSKEY.ATTESTATION_PREFERENCE": ("direct", "indirect", "none"),
    "MFA.DEVICE_TRUST_POLICY": ("always", "prompt", "never"),
    "MFA.SECURITY_KEYS.USER_VERIFICATION": ("required", "preferred", "discouraged"),
    "MFA.SECURITY_KEYS.ATTESTATION_PREFERENCE": ("direct", "indirect", "none"),
    "MFA.SECURITY_KEYS.AUTHENTICATOR_ATTACHMENT": ("platform", "cross-platform", "no_preference"),
    "SESSION.COOKIE.SAME_SITE": ("strict", "lax", "none"),
    "SESSION.COOKIE.RETENTION": ("persistent", "session", "prompt"),
    "SERVER.IP.EXTRACTOR": ("direct", "x_forwarded_for", "x_real_ip"),
}


class Section:
    """A read-only view of one nested settings dict: ``section.KEY`` or ``section["KEY"]``."""

    def __init__(self, values: dict[str, Any], path: str = "") -> None:
        self._values = values
        self._path = path

    def __getattr__(self, key: str) -> Any:
        try:
            value = self._values[key]
        except KeyError:
            raise AttributeError(f"unknown hankoflow setting {self._path}{key}") from None
        if isinstance(value, dict) and key not in _FREE_FORM:
            value = Section(value, f"{self._path}{key}.")
        # Kept as an attribute: the next read is a plain lookup, no __getattr__ (a flow step
        # reads some thirty settings). Settings.reload() drops them with the values.
        self.__dict__[key] = value
        return value

    __getitem__ = __getattr__

    def get(self, dotted: str) -> Any:
        """Read a nested value by its dotted path, e.g. ``settings.get("SESSION.COOKIE.NAME")``."""
        value: Any = self
        for part in dotted.split("."):
            value = getattr(value, part)
        return value

    def as_dict(self) -> dict[str, Any]:
        return copy.deepcopy(self._values)


# Dicts whose keys are names chosen by the project, not settings: returned as plain dicts.
_FREE_FORM = {"PROVIDERS", "CUSTOM_PROVIDERS", "CLAIMS"}


def merge(defaults: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``overrides`` onto ``defaults``; unknown keys are kept for the checks to flag."""
    merged = copy.deepcopy(defaults)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key not in _FREE_FORM:
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


class Settings(Section):
    """The merged ``HANKOFLOW`` settings, rebuilt lazily after ``setting_changed``."""

    def __init__(self) -> None:
        super().__init__({})
        self._loaded = False

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        self._load()
        return super().__getattr__(key)

    __getitem__ = __getattr__

    def as_dict(self) -> dict[str, Any]:
        self._load()
        return super().as_dict()

    def user_settings(self) -> dict[str, Any]:
        return getattr(django_settings, "HANKOFLOW", {}) or {}

    def _load(self) -> None:
        if not self._loaded:
            self._values = merge(DEFAULTS, self.user_settings())
            self._loaded = True

    def reload(self) -> None:
        self._loaded = False
        for key in [key for key in self.__dict__ if not key.startswith("_")]:
            self.__dict__.pop(key, None)  # what Section.__getattr__ kept of the old values


settings = Settings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == "HANKOFLOW":
        settings.reload()


setting_changed.connect(_reload)
