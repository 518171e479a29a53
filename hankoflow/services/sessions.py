"""Sessions: issuing, validating and revoking Hanko session JWTs (platform.md §2,
flow-api.md §4.5.2).

A session is an RS256 JWT **and** a ``Session`` row whose id is the token's ``session_id``;
both must be valid, so deleting the row revokes the token at once (security-checks SE-05).
``issue`` builds the token with Hanko's claims, enforces ``SESSION.LIMIT`` and stores the row;
what the HTTP response must carry (``X-Session-*`` headers and the cookie or ``X-Auth-Token``)
comes back as *effects*, objects with ``apply_to(response)``, the same protocol flow hooks hand
to the transport. ``validate`` accepts only tokens we signed (RS256 only, ``kid`` looked up in
our own table, ``exp``/``iat``/``nbf``/``aud``/``iss`` checked, SE-01/SE-02) whose row exists,
is not idle-expired and belongs to an active user; anything else is ``None``, never an
exception. No token value reaches a query unchecked: the header must have our shape before the
``kid`` is looked up, and ``sub``/``session_id`` must be canonical UUIDs. ``session_for_request``
does this once per request for the middleware, the DRF authentication class and the public
endpoints.

A session ends early by logout, ``revoke``/``revoke_all`` (a password recovery ends all of a
user's sessions, SE-07), ``SESSION.LIMIT`` or the idle timeout; each sends
``hankoflow.signals.session_revoked`` with the reason.
"""

from __future__ import annotations

import ipaddress
import logging
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

import jwt
from django.contrib.auth import user_logged_in, user_logged_out
from django.db import transaction
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils import timezone

from hankoflow import signals
from hankoflow.conf import settings
from hankoflow.engine import RequestFacts
from hankoflow.models import Account
from hankoflow.models.sessions import Session
from hankoflow.services import accounts, audit, device_trust, jwks

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

logger = logging.getLogger("hankoflow.sessions")

Retention = Literal["persistent", "session"]

ALGORITHMS = [jwks.ALGORITHM]  # pinned: the header's ``alg`` is never trusted (SE-01)
TOKEN_TYPE = "JWT"  # noqa: S105 (the JOSE "typ" value, not a secret)
# Longer strings are not our tokens (ours are ~1 kB); refused before any parsing.
MAX_TOKEN_LENGTH = 8192
# Claims every session token must carry (SE-02: exp required, sub and session id present).
REQUIRED_CLAIMS = ["exp", "iat", "sub", "aud", "session_id"]
# Hanko: writes ``last_used`` on every authenticated request; we write it when the stored value
# is older than this, so a page's burst of API calls costs one UPDATE. Idle timeouts are
# minutes or more, so the window is unaffected.
LAST_USED_RESOLUTION = timedelta(seconds=5)
BEARER_PREFIX = "bearer "
CANONICAL_UUID_LENGTH = 36
USER_AGENT_MAX_LENGTH = 512  # Session.user_agent
IP_MAX_LENGTH = 64  # Session.ip_address
_SAME_SITE = {"strict": "Strict", "lax": "Lax", "none": "None"}
_UNSET = object()
_REQUEST_ATTR = "_hankoflow_session"
SOURCE_HEADER = "header"
SOURCE_COOKIE = "cookie"


# --- response effects ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionHeaders:
    """``X-Session-Lifetime`` (the configured lifespan) and ``X-Session-Retention``."""

    lifetime: int
    retention: Retention

    def apply_to(self, response: HttpResponseBase) -> None:
        response["X-Session-Lifetime"] = str(self.lifetime)
        response["X-Session-Retention"] = self.retention


@dataclass(frozen=True)
class AuthTokenHeader:
    """``X-Auth-Token: <JWT>`` (``SESSION.ENABLE_AUTH_TOKEN_HEADER``; then no cookie)."""

    token: str = field(repr=False)

    def apply_to(self, response: HttpResponseBase) -> None:
        response["X-Auth-Token"] = self.token


@dataclass(frozen=True)
class CookieAttributes:
    """The session cookie's attributes (platform.md §2.5), read from ``SESSION.COOKIE``."""

    name: str
    domain: str | None
    secure: bool
    http_only: bool
    same_site: str | None

    @classmethod
    def from_settings(cls) -> CookieAttributes:
        cookie = settings.SESSION.COOKIE
        return cls(
            name=cookie.NAME,
            domain=cookie.DOMAIN or None,
            secure=bool(cookie.SECURE),
            http_only=bool(cookie.HTTP_ONLY),
            same_site=_SAME_SITE.get(str(cookie.SAME_SITE).lower()),
        )


@dataclass(frozen=True)
class SessionCookie:
    """``Set-Cookie`` with the JWT; ``max_age`` None makes a browser-session cookie."""

    token: str = field(repr=False)
    max_age: int | None
    attributes: CookieAttributes

    def apply_to(self, response: HttpResponseBase) -> None:
        a = self.attributes
        response.set_cookie(
            a.name,
            self.token,
            max_age=self.max_age,
            path="/",
            domain=a.domain,
            secure=a.secure,
            httponly=a.http_only,
            samesite=a.same_site,
        )


@dataclass(frozen=True)
class DeleteSessionCookie:
    """Expires the session cookie: same name, Domain, Path and flags, empty, ``Max-Age=0``."""

    attributes: CookieAttributes

    @classmethod
    def from_settings(cls) -> DeleteSessionCookie:
        return cls(CookieAttributes.from_settings())

    def apply_to(self, response: HttpResponseBase) -> None:
        a = self.attributes
        response.set_cookie(
            a.name,
            "",
            max_age=0,
            expires="Thu, 01 Jan 1970 00:00:00 GMT",
            path="/",
            domain=a.domain,
            secure=a.secure,
            httponly=a.http_only,
            samesite=a.same_site,
        )


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedSession:
    """A new session: the JWT, the ``claims`` payload object of flow-api.md §4.5.2 step 3, the
    retention chosen, and the effects that put it into the HTTP response."""

    token: str = field(repr=False)
    session_id: str
    claims: dict[str, Any]
    retention: Retention
    effects: tuple[Any, ...]


@dataclass(frozen=True)
class SessionInfo:
    """A validated session: its account and row, and the token's claims as signed (``sub``,
    ``exp``, ``amr``...). ``token_source`` is ``"header"`` or ``"cookie"`` when it came from a
    request, else empty."""

    account: Account
    session: Session
    claims: dict[str, Any]
    token_source: str = ""

    @property
    def user(self) -> AbstractBaseUser:
        return self.account.user

    @property
    def from_cookie(self) -> bool:
        """The token came from the session cookie (ambient authority: mind CSRF)."""
        return self.token_source == SOURCE_COOKIE


# --- issuing ------------------------------------------------------------------------------------


def audience() -> list[str]:
    """``SESSION.AUDIENCE``, or ``[WEBAUTHN.RELYING_PARTY.ID]`` when empty (platform.md §2.1)."""
    configured = list(settings.SESSION.AUDIENCE)
    return configured or [settings.WEBAUTHN.RELYING_PARTY.ID]


def retention_for(remember_me: bool | None) -> Retention:
    """flow-api.md §4.5.2 step 6: ``prompt`` is persistent only after "stay signed in"."""
    configured = settings.SESSION.COOKIE.RETENTION
    if configured == "session" or (configured == "prompt" and remember_me is not True):
        return "session"
    return "persistent"


def issue(
    account: Account,
    *,
    amr: list[str],
    env: RequestFacts | None,
    remember_me: bool | None,
) -> IssuedSession:
    """Sign a session JWT for ``account`` and store its row (platform.md §2.3).

    Runs in the caller's transaction. The account row is locked so that concurrent logins of
    one user cannot exceed ``SESSION.LIMIT``: the oldest active sessions beyond ``LIMIT - 1``
    are deleted before the new one is stored. ``env`` supplies the IP and User-Agent stored on
    the row (``SESSION.ACQUIRE_*``); ``None`` for sessions made outside a request.
    """
    now = timezone.now().replace(microsecond=0)
    iat = int(now.timestamp())
    lifespan = int(settings.SESSION.LIFESPAN)
    expires_at = now + timedelta(seconds=lifespan)
    session_id = uuid.uuid4()
    claims = _token_claims(account, iat=iat, exp=iat + lifespan, session_id=session_id, amr=amr)
    key = jwks.signing_key()
    token = jwt.encode(
        claims, key.key, algorithm=jwks.ALGORITHM, headers={"kid": key.kid, "typ": TOKEN_TYPE}
    )
    with transaction.atomic():
        _lock_account(account)
        _enforce_limit(account, now, request=env.request if env else None)
        Session.objects.create(
            id=session_id,
            account=account,
            user_agent=storable_user_agent(env.user_agent)
            if env and settings.SESSION.ACQUIRE_USER_AGENT
            else "",
            ip_address=storable_ip(env.ip) if env and settings.SESSION.ACQUIRE_IP_ADDRESS else "",
            created_at=now,
            updated_at=now,
            last_used=now,
            expires_at=expires_at,
        )
    if env is not None:
        # Django's own login signal (updates ``last_login``); only for real HTTP logins.
        user_logged_in.send(sender=account.user.__class__, request=env.request, user=account.user)
    retention = retention_for(remember_me)
    effects: list[Any] = [SessionHeaders(lifespan, retention)]
    if settings.SESSION.ENABLE_AUTH_TOKEN_HEADER:
        effects.append(AuthTokenHeader(token))
    else:
        max_age = lifespan if retention == "persistent" else None
        effects.append(SessionCookie(token, max_age, CookieAttributes.from_settings()))
    return IssuedSession(
        token=token,
        session_id=str(session_id),
        claims=claims_payload(claims),
        retention=retention,
        effects=tuple(effects),
    )


def _token_claims(
    account: Account, *, iat: int, exp: int, session_id: uuid.UUID, amr: list[str]
) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "sub": str(account.pk),
        "iat": iat,
        "exp": exp,
        "aud": audience(),
        "session_id": str(session_id),
    }
    # account.emails.all() and the username reuse what accounts.get loaded, when it did.
    primary = next((e for e in account.emails.all() if e.is_primary), None)
    if primary is not None:
        claims["email"] = {
            "address": primary.address,
            "is_primary": True,
            "is_verified": primary.is_verified,
        }
    username = accounts.facts(account).username
    if username:
        claims["username"] = username
    if amr:
        claims["amr"] = list(amr)
    if settings.SESSION.ISSUER:
        claims["iss"] = settings.SESSION.ISSUER
    return claims


def _lock_account(account: Account) -> None:
    # Serialises issuing and bulk revocation for one user (SESSION.LIMIT, SE-07).
    Account.objects.select_for_update().filter(pk=account.pk).values_list("pk").first()


def _enforce_limit(account: Account, now: datetime, *, request: HttpRequest | None) -> None:
    limit = max(int(settings.SESSION.LIMIT), 1)
    # Locked rows: a logout racing with this cannot end one of them a second time.
    active = list(
        Session.objects.select_for_update()
        .filter(account=account, expires_at__gt=now)
        .order_by("-created_at", "-last_used")
    )
    if len(active) >= limit:
        # Keep the newest LIMIT - 1; with the new one the user has at most LIMIT.
        _end(active[limit - 1 :], account, signals.REASON_LIMIT, request)


def storable_user_agent(value: str) -> str:
    """A ``User-Agent`` as stored on a session row: printable characters only, at most
    ``USER_AGENT_MAX_LENGTH`` (PostgreSQL refuses NUL and overlong text)."""
    return "".join(char for char in value if char.isprintable())[:USER_AGENT_MAX_LENGTH]


def storable_ip(value: str) -> str:
    """A client address as stored on a session row: a valid IP address, else empty."""
    if len(value) > IP_MAX_LENGTH:
        return ""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return ""
    return value


def rfc3339(timestamp: int | float) -> str:
    """JWT numeric dates as Hanko's DTO writes them: ``2025-01-15T12:57:56Z``."""
    return datetime.fromtimestamp(int(timestamp), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def claims_payload(claims: dict[str, Any]) -> dict[str, Any]:
    """Token claims as Hanko's ``Claims`` DTO (flow-api.md §4.5.2 step 3, platform.md §2.6):
    ``subject``, ``issued_at``, ``expiration``, ``audience``, ``issuer``, ``email``,
    ``username``, ``session_id``, and every other claim (``amr``...) flattened in."""
    payload: dict[str, Any] = {"subject": claims["sub"]}
    if "iat" in claims:
        payload["issued_at"] = rfc3339(claims["iat"])
    payload["expiration"] = rfc3339(claims["exp"])
    aud = claims.get("aud")
    if aud:
        payload["audience"] = [aud] if isinstance(aud, str) else list(aud)
    if claims.get("iss"):
        payload["issuer"] = claims["iss"]
    if "email" in claims:
        payload["email"] = claims["email"]
    if claims.get("username"):
        payload["username"] = claims["username"]
    payload["session_id"] = claims["session_id"]
    standard = {"sub", "iat", "exp", "aud", "iss", "email", "username", "session_id", "nbf", "jti"}
    for name, value in claims.items():
        if name not in standard:
            payload[name] = value
    return payload


# --- validating ---------------------------------------------------------------------------------


def decode(token: Any) -> dict[str, Any] | None:
    """The claims of a token we signed and that is currently valid as a JWT, else None.

    RS256 only; the ``kid`` is looked up in our own key table (``jku``, ``x5u``, ``jwk`` and
    ``x5c`` headers are never used); unknown ``crit`` headers are refused by PyJWT >= 2.12;
    ``exp``, ``iat`` (not in the future), ``nbf``, ``aud`` (must contain ours) and ``iss`` (when
    ``SESSION.ISSUER`` is set) are checked without leeway. Hanko: checks neither ``aud`` nor
    ``iss`` (platform.md §12.2); we check both (security-checks SE-02).
    """
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    try:
        header = jwt.get_unverified_header(token)
        if not well_formed_header(header):
            return None
        key = jwks.verification_key(header["kid"])
        if key is None:
            return None
        claims = jwt.decode(
            token,
            key,
            algorithms=ALGORITHMS,
            audience=audience(),
            issuer=settings.SESSION.ISSUER or None,
            options={"require": REQUIRED_CLAIMS},
            leeway=0,
        )
    except (jwt.PyJWTError, ValueError, TypeError, KeyError, AttributeError):
        return None
    if not isinstance(claims, dict):
        return None
    return claims


def well_formed_header(header: Any) -> bool:
    """The JOSE header of one of our tokens: ``alg`` RS256, ``typ`` JWT and a ``kid`` of our
    shape. Checked before any lookup: a header value must never reach a query unchecked (NUL in
    a ``kid`` made PostgreSQL fail, issue 8)."""
    return (
        isinstance(header, dict)
        and header.get("alg") == jwks.ALGORITHM
        and header.get("typ") == TOKEN_TYPE
        and jwks.well_formed_kid(header.get("kid"))
    )


def validate(
    token: Any, *, touch: bool = True, request: HttpRequest | None = None
) -> SessionInfo | None:
    """The session a token stands for, or None if it is not a valid session right now.

    Besides ``decode``: ``sub`` and ``session_id`` must be UUIDs, the row must exist, belong to
    ``sub`` and be unexpired, the user must be active (security-checks SE-07), and the idle
    timeout (``SESSION.IDLE_TIMEOUT`` > 0) must not have passed since ``last_used`` — if it has,
    the row is deleted. ``touch`` records the use (``last_used``); ``GET /sessions/validate``
    is passive and passes False. ``request`` is handed to ``session_revoked`` when the idle
    timeout ends the session.
    """
    claims = decode(token)
    if claims is None:
        return None
    session_id = _uuid(claims.get("session_id"))
    subject = _uuid(claims.get("sub"))
    if session_id is None or subject is None:
        return None
    session = Session.objects.select_related("account__user").filter(pk=session_id).first()
    if session is None or session.account_id != subject:
        return None
    now = timezone.now()
    if session.expires_at <= now or not getattr(session.account.user, "is_active", True):
        return None
    idle = int(settings.SESSION.IDLE_TIMEOUT)
    if idle > 0 and now - session.last_used > timedelta(seconds=idle):
        _end_one(session, signals.REASON_IDLE_TIMEOUT, request)
        return None
    if touch and now - session.last_used >= LAST_USED_RESOLUTION:
        Session.objects.filter(pk=session.pk).update(last_used=now, updated_at=now)
        session.last_used = session.updated_at = now
    return SessionInfo(account=session.account, session=session, claims=claims)


def idle_expires_at(session: Session) -> datetime | None:
    """``last_used + IDLE_TIMEOUT`` capped at the expiry, or None without an idle timeout."""
    idle = int(settings.SESSION.IDLE_TIMEOUT)
    if idle <= 0:
        return None
    return min(session.last_used + timedelta(seconds=idle), session.expires_at)


def _uuid(value: Any) -> uuid.UUID | None:
    """A UUID from its canonical text only (``uuid.UUID`` also takes braces, URNs, signs...)."""
    if not isinstance(value, str) or len(value) != CANONICAL_UUID_LENGTH:
        return None
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return None
    return parsed if str(parsed) == value.lower() else None


# --- requests -----------------------------------------------------------------------------------


def tokens_from_request(request: HttpRequest) -> list[tuple[str, str]]:
    """Candidate tokens as ``(source, token)``: ``Authorization: Bearer`` first, then the
    cookie named ``SESSION.COOKIE.NAME`` (platform.md §2.4 step 1). Query strings are never
    read (security-checks SE-08)."""
    candidates = []
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    if authorization[: len(BEARER_PREFIX)].lower() == BEARER_PREFIX:
        token = authorization[len(BEARER_PREFIX) :].strip()
        if token:
            candidates.append((SOURCE_HEADER, token))
    cookie = request.COOKIES.get(settings.SESSION.COOKIE.NAME)
    if cookie:
        candidates.append((SOURCE_COOKIE, cookie))
    return candidates


def token_from_request(request: HttpRequest) -> str | None:
    """The first candidate token of the request (Bearer header, then cookie), if any."""
    candidates = tokens_from_request(request)
    return candidates[0][1] if candidates else None


def session_for_request(request: HttpRequest, *, touch: bool = True) -> SessionInfo | None:
    """The request's valid session, trying each candidate token in order (as Hanko's
    middleware does); computed once per request and kept on it."""
    cached = getattr(request, _REQUEST_ATTR, _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    info = None
    for source, token in tokens_from_request(request):
        found = validate(token, touch=touch, request=request)
        if found is not None:
            info = replace(found, token_source=source)
            break
    setattr(request, _REQUEST_ATTR, info)
    return info


# --- revoking ---------------------------------------------------------------------------------


def revoke(
    session_id: str | uuid.UUID,
    *,
    reason: str = signals.REASON_REVOKED,
    request: HttpRequest | None = None,
) -> bool:
    """End one session: delete its row (its token stops validating at once) and send
    ``session_revoked``; False when there was no such session."""
    key = session_id if isinstance(session_id, uuid.UUID) else _uuid(session_id)
    if key is None:
        return False
    session = Session.objects.select_related("account").filter(pk=key).first()
    return session is not None and _end_one(session, reason, request)


def revoke_all(
    account: Account,
    *,
    reason: str = signals.REASON_REVOKED,
    env: RequestFacts | None = None,
    audit_details: dict[str, Any] | None = None,
) -> int:
    """End every session of the account and forget the devices it trusts for MFA
    (flow-api.md §4.5.3; security-checks SE-07); the number of sessions ended.

    One transaction (the caller's, when there is one). The account row is locked as ``issue``
    locks it, so a login committing at the same moment is either ended too or begins after
    this. ``session_revoked`` is sent per session; when anything ended, one ``user_logged_out``
    audit entry records it, with ``reason``, the ``session_ids`` and the number of
    ``trusted_devices`` in its details, plus ``audit_details`` (e.g. the flow id).
    Hanko: has no audit type for a revocation; ``user_logged_out`` is the closest.
    """
    request = env.request if env is not None else None
    with transaction.atomic():
        _lock_account(account)
        rows = list(Session.objects.select_for_update().filter(account=account))
        _end(rows, account, reason, request)
        devices = device_trust.revoke_all(account)
        if rows or devices:
            details = {
                "reason": reason,
                "session_ids": sorted(str(row.pk) for row in rows),
                "trusted_devices": devices,
                **(audit_details or {}),
            }
            audit.record(audit.USER_LOGGED_OUT, env=env, account=account, details=details)
    return len(rows)


def logout(request: HttpRequest, info: SessionInfo, *, env: RequestFacts) -> DeleteSessionCookie:
    """End the request's session (platform.md §2.8): delete the row, write the audit entry
    ``user_logged_out`` in the same transaction, send ``session_revoked`` and Django's
    ``user_logged_out``; returns the effect that expires the cookie."""
    with transaction.atomic():
        _end_one(info.session, signals.REASON_LOGOUT, request)
        audit.record(audit.USER_LOGGED_OUT, env=env, account=info.account)
    user_logged_out.send(sender=info.user.__class__, request=request, user=info.user)
    if getattr(request, _REQUEST_ATTR, None) is info:
        setattr(request, _REQUEST_ATTR, None)
    return DeleteSessionCookie.from_settings()


def _end(rows: list[Session], account: Account, reason: str, request: HttpRequest | None) -> None:
    """Delete rows the caller has locked, then announce each one."""
    if not rows:
        return
    Session.objects.filter(pk__in=[row.pk for row in rows]).delete()
    for row in rows:
        _announce(row, account, reason, request)


def _end_one(session: Session, reason: str, request: HttpRequest | None) -> bool:
    """Delete one row; announced only by whoever actually deleted it (racing requests)."""
    deleted, _ = Session.objects.filter(pk=session.pk).delete()
    if deleted:
        _announce(session, session.account, reason, request)
    return bool(deleted)


def _announce(session: Session, account: Account, reason: str, request: HttpRequest | None) -> None:
    signals.session_revoked.send(
        sender=Session, session=session, account=account, reason=reason, request=request
    )


def active_sessions(account: Account) -> list[Session]:
    """The account's unexpired sessions, newest first (platform.md §1.10 "Active")."""
    return list(
        Session.objects.filter(account=account, expires_at__gt=timezone.now()).order_by(
            "-created_at"
        )
    )
