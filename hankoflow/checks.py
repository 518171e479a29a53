"""Django system checks: report invalid ``HANKOFLOW`` values at start-up, not at request time.

``check --deploy`` adds the deploy checks at the end (hankoflow.W010-W018, E010-E011).
The Redis flow store's cache is checked always (hankoflow.E012).
Third-party sign-in is checked always (hankoflow.E030-E033), SAML when enabled (E034).
"""

from __future__ import annotations

import ipaddress
import shutil
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.core.cache import InvalidCacheBackendError, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.utils.module_loading import import_string

from hankoflow import jwt_template
from hankoflow.conf import _FREE_FORM, CHOICES, DEFAULTS, settings


def _walk(defaults: dict[str, Any], values: dict[str, Any], path: str = "") -> Iterator[Error]:
    for key, value in values.items():
        dotted = f"{path}{key}"
        if key not in defaults:
            yield Error(f"HANKOFLOW[{dotted}] is not a hankoflow setting.", id="hankoflow.E001")
            continue
        default = defaults[key]
        if isinstance(default, dict) and key not in _FREE_FORM:
            if isinstance(value, dict):
                yield from _walk(default, value, f"{dotted}.")
            else:
                yield Error(f"HANKOFLOW[{dotted}] must be a dict.", id="hankoflow.E002")
        elif not _same_kind(default, value):
            yield Error(
                f"HANKOFLOW[{dotted}] must be of type {type(default).__name__}, "
                f"not {type(value).__name__}.",
                id="hankoflow.E002",
            )
        elif dotted in CHOICES and value not in CHOICES[dotted]:
            yield Error(
                f"HANKOFLOW[{dotted}] must be one of {', '.join(CHOICES[dotted])}.",
                id="hankoflow.E003",
            )


def _same_kind(default: Any, value: Any) -> bool:
    if isinstance(default, bool):
        return isinstance(value, bool)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, type(default))


@register()
def check_settings(app_configs: Any = None, **kwargs: Any) -> list[Error | Warning]:
    problems: list[Error | Warning] = list(_walk(DEFAULTS, settings.user_settings()))
    if problems:
        return problems
    origins = settings.CORS.ALLOW_ORIGINS
    if "*" in origins and not settings.CORS.UNSAFE_WILDCARD_ORIGIN_ALLOWED:
        problems.append(
            Error(
                "HANKOFLOW[CORS.ALLOW_ORIGINS] contains '*', which browsers refuse with "
                "credentials; list the origins or set CORS.UNSAFE_WILDCARD_ORIGIN_ALLOWED.",
                id="hankoflow.E004",
            )
        )
    for dotted in ("FLOW.TTL", "FLOW.MAX_BODY_SIZE", "SESSION.LIFESPAN", "EMAIL.PASSCODE_TTL"):
        if settings.get(dotted) <= 0:
            problems.append(Error(f"HANKOFLOW[{dotted}] must be positive.", id="hankoflow.E005"))
    for dotted in (
        "AUDIT_LOG.RETENTION",
        "EMAIL_DELIVERY.OUTBOX_RETENTION",
        "SESSION.KEY_ROTATION.INTERVAL",
    ):
        if settings.get(dotted) < 0:
            problems.append(
                Error(f"HANKOFLOW[{dotted}] must be 0 (off) or positive.", id="hankoflow.E007")
            )
    if not settings.WEBAUTHN.RELYING_PARTY.ID:
        problems.append(
            Error("HANKOFLOW[WEBAUTHN.RELYING_PARTY.ID] must not be empty.", id="hankoflow.E006")
        )
    problems.extend(_client_ip_problems())
    return problems


def _client_ip_problems() -> list[Error]:
    """E008: a forwarding extractor that trusts no proxy reads nothing (security-checks AU-05),
    and a network that does not parse would fail every request."""
    ip = settings.SERVER.IP
    proxies = list(ip.TRUSTED_PROXIES)
    for cidr in proxies:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except (TypeError, ValueError):
            return [
                Error(
                    f"HANKOFLOW[SERVER.IP.TRUSTED_PROXIES] holds {cidr!r}, not a network.",
                    hint="List networks in CIDR notation, e.g. '10.0.0.0/8' or '::1/128'.",
                    id="hankoflow.E008",
                )
            ]
    if ip.EXTRACTOR != "direct" and not proxies:
        return [
            Error(
                f"HANKOFLOW[SERVER.IP.EXTRACTOR] is {ip.EXTRACTOR!r} but "
                "SERVER.IP.TRUSTED_PROXIES is empty: no forwarding header would be trusted.",
                hint="List the proxies' networks, or set the extractor to 'direct'.",
                id="hankoflow.E008",
            )
        ]
    return []


@register()
def check_jwt_template(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """SESSION.JWT_TEMPLATE.CLAIMS: refused at start-up rather than dropped at every sign-in.

    Hanko: ignores a reserved claim name and logs a template that fails, token by token.
    """
    if not _settings_valid():
        return []
    return [
        Error(
            f"HANKOFLOW[SESSION.JWT_TEMPLATE.CLAIMS][{name!r}]: {problem}.",
            hint="Reserved: " + ", ".join(sorted(jwt_template.RESERVED_CLAIMS)) + ".",
            id="hankoflow.E020",
        )
        for name, problem in jwt_template.template_errors(settings.SESSION.JWT_TEMPLATE.CLAIMS)
    ]


# Deploy checks: run by ``manage.py check --deploy`` (and ``--tag hankoflow``). They look at
# settings that are fine on a developer's machine and wrong behind a public origin. Each one
# stays quiet while the settings above have errors: those come first.

_MIDDLEWARE = "hankoflow.middleware.HankoflowMiddleware"


@register(Tags.security, "hankoflow")
def check_third_party(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Third-party providers that cannot work and unsafe redirect allow-lists (platform.md §9)."""
    if not _settings_valid():
        return []
    from hankoflow.services.thirdparty import providers, redirects

    problems: list[Error] = []
    for key in settings.THIRD_PARTY.PROVIDERS:
        if key not in providers.BUILTIN:
            problems.append(
                Error(
                    f"HANKOFLOW[THIRD_PARTY.PROVIDERS] has an unknown provider {key!r}; use one "
                    f"of {', '.join(providers.BUILTIN)} or CUSTOM_PROVIDERS.",
                    id="hankoflow.E030",
                )
            )
    enabled = False
    for provider_id, block in providers.configured():
        if not block.get("ENABLED"):
            continue
        enabled = True
        for problem in providers.problems(provider_id, block):
            problems.append(
                Error(f"Third-party provider {provider_id!r} {problem}.", id="hankoflow.E030")
            )
    third_party = settings.THIRD_PARTY
    if enabled and not [p for p in third_party.ALLOWED_REDIRECT_URLS if p]:
        problems.append(
            Error(
                "HANKOFLOW[THIRD_PARTY.ALLOWED_REDIRECT_URLS] is empty while a third-party "
                "provider is enabled: no sign-in could return to the app.",
                id="hankoflow.E031",
            )
        )
    if enabled and not third_party.ERROR_REDIRECT_URL:
        problems.append(
            Error(
                "HANKOFLOW[THIRD_PARTY.ERROR_REDIRECT_URL] is empty while a third-party provider "
                "is enabled: errors without a known target would have nowhere to go.",
                id="hankoflow.E032",
            )
        )
    for pattern in [*third_party.ALLOWED_REDIRECT_URLS, third_party.ERROR_REDIRECT_URL]:
        reason = redirects.unsafe_reason(pattern) if pattern else None
        if reason:
            problems.append(
                Error(
                    f"Third-party redirect URL {pattern!r} {reason}.",
                    hint="Write the scheme and the host, e.g. https://app.example.com/** or "
                    "https://*.example.com/**, with no trailing slash.",
                    id="hankoflow.E033",
                )
            )
    return problems


@register(Tags.caches, "hankoflow")
def check_flow_store(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """E012: the Redis flow store needs a Redis cache to find its Redis (every step would 500)."""
    if not _settings_valid() or settings.FLOW_STORE != "redis":
        return []
    alias = settings.FLOW_STORE_CACHE
    try:
        backend = type(caches[alias])
    except (InvalidCacheBackendError, ImportError):
        backend = None
    if backend is not None and issubclass(backend, RedisCache):
        return []
    found = "not in CACHES" if backend is None else f"a {backend.__name__}"
    return [
        Error(
            f"HANKOFLOW[FLOW_STORE] is 'redis' but its cache {alias!r} (FLOW_STORE_CACHE) is "
            f"{found}, not a Redis cache: no flow can be started or advanced.",
            hint="Point FLOW_STORE_CACHE at a cache using hankoflow.cache.RedisCache (or "
            "django.core.cache.backends.redis.RedisCache), or set FLOW_STORE to 'database'.",
            id="hankoflow.E012",
        )
    ]


@register("hankoflow")
def check_webhooks(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    from hankoflow.services.webhooks import sources  # when run: checks load before the services

    return [Error(message, id="hankoflow.E040") for message in sources.config_problems()]


@register(Tags.security, "hankoflow")
def check_saml(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """SAML switched on without what it needs (platform.md §9.5)."""
    if not _settings_valid() or not settings.SAML.ENABLED:
        return []
    from hankoflow.services.saml import sp
    from hankoflow.services.saml.providers import problems as idp_problems

    saml, found = settings.SAML, []
    for key in ("ENDPOINT_URL", "SP_CERTIFICATE", "SP_PRIVATE_KEY", "DEFAULT_REDIRECT_URL"):
        if not saml.get(key):
            found.append(f"HANKOFLOW[SAML.{key}] is empty while SAML is enabled.")
    if saml.OPTIONS.SKIP_SIGNATURE_VALIDATION:
        found.append("HANKOFLOW[SAML.OPTIONS.SKIP_SIGNATURE_VALIDATION] is not supported.")
    idps = [idp for idp in saml.IDENTITY_PROVIDERS if isinstance(idp, dict)]
    if not any(idp.get("ENABLED") for idp in idps):
        found.append("SAML is enabled but no HANKOFLOW[SAML.IDENTITY_PROVIDERS] entry is.")
    for idp in idps:
        name = idp.get("NAME") or idp.get("DOMAIN") or "?"
        found += [f"SAML identity provider {name!r} {p}." for p in idp_problems(idp)]
    if not sp.installed():
        found.append("SAML is enabled but pysaml2 is not installed (pip: hankoflow[saml]).")
    if not shutil.which("xmlsec1"):
        found.append("SAML is enabled but the xmlsec1 binary is not installed (apt: xmlsec1).")
    return [Error(message, id="hankoflow.E034") for message in found]


@register(Tags.security, "hankoflow", deploy=True)
def check_middleware(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from hankoflow.middleware import HankoflowMiddleware

    for path in django_settings.MIDDLEWARE:
        try:
            middleware = import_string(path)
        except ImportError:
            continue  # Django reports an unimportable middleware itself, at the first request
        if isinstance(middleware, type) and issubclass(middleware, HankoflowMiddleware):
            return []
    return [
        Warning(
            f"{_MIDDLEWARE} is not in MIDDLEWARE: Hanko's CORS answers are missing and a Hanko "
            "session does not make request.user in Django views.",
            hint=f"Add {_MIDDLEWARE!r} as the first entry of MIDDLEWARE.",
            id="hankoflow.W010",
        )
    ]


@register(Tags.security, "hankoflow", deploy=True)
def check_webauthn_origins(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if not _settings_valid() or not (
        settings.PASSKEY.ENABLED or settings.MFA.SECURITY_KEYS.ENABLED
    ):
        return []
    rp = settings.WEBAUTHN.RELYING_PARTY
    rp_id = rp.ID.lower()
    problems: list[CheckMessage] = []
    if _is_ip(rp_id):
        problems.append(
            Warning(
                f"HANKOFLOW[WEBAUTHN.RELYING_PARTY.ID] is the IP address {rp.ID!r}: browsers "
                "accept only a domain name as the relying party id, so passkeys and security "
                "keys cannot be used.",
                hint="Serve the app under a domain name and use it (or its parent) as the ID.",
                id="hankoflow.W011",
            )
        )
    for origin in rp.ORIGINS:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https"):
            continue  # app origins such as android:apk-key-hash:... are not web pages
        host = (parts.hostname or "").lower()
        if not _is_ip(rp_id) and host != rp_id and not host.endswith(f".{rp_id}"):
            problems.append(
                Warning(
                    f"The WebAuthn origin {origin!r} is not on {rp.ID!r} or one of its "
                    "subdomains: browsers refuse passkeys and security keys there.",
                    hint="Set HANKOFLOW[WEBAUTHN.RELYING_PARTY.ID] to a domain every origin in "
                    "WEBAUTHN.RELYING_PARTY.ORIGINS belongs to (e.g. example.com for "
                    "https://app.example.com), or remove the origin.",
                    id="hankoflow.W011",
                )
            )
        elif parts.scheme == "http" and not _is_local(host):
            problems.append(
                Warning(
                    f"The WebAuthn origin {origin!r} is plain http: browsers offer WebAuthn "
                    "only to secure contexts (https, or http on localhost).",
                    hint="Serve the frontend over https and list its https origin.",
                    id="hankoflow.W012",
                )
            )
    return problems


@register(Tags.security, "hankoflow", deploy=True)
def check_session_cookie(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if not _settings_valid():
        return []
    cookie = settings.SESSION.COOKIE
    problems: list[CheckMessage] = []
    if not cookie.SECURE:
        problems.append(
            Warning(
                "HANKOFLOW[SESSION.COOKIE.SECURE] is off: the session cookie is also sent over "
                "plain http, where anyone on the network can read it and take over the session.",
                hint="Leave SESSION.COOKIE.SECURE on (the default) and serve the app over https.",
                id="hankoflow.W013",
            )
        )
    if cookie.SAME_SITE == "none" and not cookie.SECURE:
        problems.append(
            Error(
                "HANKOFLOW[SESSION.COOKIE.SAME_SITE] is 'none' without SESSION.COOKIE.SECURE: "
                "browsers reject such a cookie, so nobody stays signed in.",
                hint="Turn SESSION.COOKIE.SECURE on, or use SAME_SITE 'lax' or 'strict'.",
                id="hankoflow.E010",
            )
        )
    return problems


@register(Tags.security, Tags.caches, "hankoflow", deploy=True)
def check_rate_limit_cache(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if not _settings_valid() or not settings.RATE_LIMITER.ENABLED:
        return []
    alias = settings.RATE_LIMITER.CACHE
    try:
        cache = caches[alias]
    except InvalidCacheBackendError:
        return [
            Error(
                f"HANKOFLOW[RATE_LIMITER.CACHE] names the cache {alias!r}, which is not in "
                "CACHES: every rate limit lets its requests through.",
                hint="Add the alias to CACHES or set RATE_LIMITER.CACHE to one that exists.",
                id="hankoflow.E011",
            )
        ]
    if isinstance(cache, DummyCache):
        return [
            Warning(
                f"The rate limiter's cache {alias!r} is a DummyCache, which keeps nothing: no "
                "rate limit is ever reached.",
                hint="Point RATE_LIMITER.CACHE at a shared cache such as Redis.",
                id="hankoflow.W015",
            )
        ]
    if isinstance(cache, LocMemCache):
        return [
            Warning(
                f"The rate limiter's cache {alias!r} is a LocMemCache, which each process keeps "
                "for itself: with several workers every one of them has its own limits.",
                hint="Point RATE_LIMITER.CACHE at a cache all processes share, such as Redis "
                "(django.core.cache.backends.redis.RedisCache).",
                id="hankoflow.W014",
            )
        ]
    return []


@register("hankoflow", deploy=True)
def check_email_delivery(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W016: hankoflow's emails cannot leave (they would stay in the outbox, or in this process).

    Only two setups are that: ``EMAIL_DELIVERY.MODE`` "celery" with a Celery app that has no
    broker and does not run tasks eagerly (or no Celery at all); and, with DEBUG off, the
    default ``send_mail`` on an ``EMAIL_BACKEND`` that never hands a message to a mail server
    (console, locmem, dummy, file). "auto" without a broker sends in-process: not a problem.
    """
    if not _settings_valid() or not settings.EMAIL_DELIVERY.ENABLED:
        return []
    from hankoflow.services.mail import dispatch

    problems: list[CheckMessage] = []
    app = dispatch.celery_app()
    if dispatch.delivery_mode(app) == dispatch.CELERY and not dispatch.can_publish(app):
        if app is None:
            fact = "Celery is not installed"
        else:
            fact = f"Celery's app {app.main!r} has no broker and does not run tasks eagerly"
        problems.append(
            Warning(
                f"EMAIL_DELIVERY.MODE is 'celery' but {fact}: hankoflow's emails stay in the "
                "outbox.",
                hint="Give the Celery app a broker (broker_url) and run a worker, or set "
                "EMAIL_DELIVERY.MODE to 'auto' or 'inline' to send from the web process. Django's "
                "CELERY_* settings only apply to a Celery app that loads them "
                "(config_from_object('django.conf:settings', namespace='CELERY')).",
                id="hankoflow.W016",
            )
        )
    backend = str(getattr(django_settings, "EMAIL_BACKEND", ""))
    if not django_settings.DEBUG and backend in _LOCAL_EMAIL_BACKENDS and _sends_by_backend():
        problems.append(
            Warning(
                f"EMAIL_BACKEND is {backend!r}, which never hands a message to a mail server: "
                "nobody receives hankoflow's passcodes.",
                hint="Set EMAIL_BACKEND (and EMAIL_HOST, ...) to your SMTP server, or override "
                "the adapter's send_mail to send through your mail service.",
                id="hankoflow.W016",
            )
        )
    return problems


# Django's backends that keep a message in this process or on this disk.
_LOCAL_EMAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
}


def _sends_by_backend() -> bool:
    """The adapter's ``send_mail`` is the default one, which sends through EMAIL_BACKEND."""
    from hankoflow.adapter import DefaultHankoflowAdapter, get_adapter

    return type(get_adapter()).send_mail is DefaultHankoflowAdapter.send_mail


@register(Tags.security, "hankoflow", deploy=True)
def check_cors_origins(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if not _settings_valid() or django_settings.DEBUG:
        return []
    return [
        Warning(
            f"HANKOFLOW[CORS.ALLOW_ORIGINS] allows {origin!r} with DEBUG off: any page served "
            "on that machine can call the API with the user's session.",
            hint="List only the production frontends' origins; keep local ones for "
            "development settings.",
            id="hankoflow.W017",
        )
        for origin in settings.CORS.ALLOW_ORIGINS
        if _is_local(urlsplit(origin).hostname or "")
    ]


@register(Tags.security, "hankoflow", deploy=True)
def check_passcode_lifetime(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """W018: NIST SP 800-63B-4 §3.1.3.2 and security-checks PC-02 want at most 10 minutes."""
    if not _settings_valid() or settings.EMAIL.PASSCODE_TTL <= 600:
        return []
    return [
        Warning(
            f"HANKOFLOW[EMAIL.PASSCODE_TTL] is {settings.EMAIL.PASSCODE_TTL} seconds: an emailed "
            "code should expire within 10 minutes.",
            hint="Set EMAIL.PASSCODE_TTL to 600 or less (Hanko's default is 300).",
            id="hankoflow.W018",
        )
    ]


def _settings_valid() -> bool:
    return not any(_walk(DEFAULTS, settings.user_settings()))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_local(host: str) -> bool:
    """localhost, *.localhost and loopback addresses: secure contexts, and only on one machine."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
