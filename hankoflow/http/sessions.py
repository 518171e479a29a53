"""What HTTP makes of a session: reading its token from a request, writing it into a response.

Reading: ``Authorization: Bearer`` first, then the cookie ``SESSION.COOKIE.NAME`` (platform.md
§2.4 step 1); query strings are never read (security-checks SE-08). ``session_for_request``
validates once per request against the database, for the endpoints that need the session row
(``/me``, ``/sessions/validate``, logout, the profile flow). ``session_user_for_request`` is
what ``request.user``, ``request.auth`` and the DRF authentication class need, the user and the
claims: it may answer from the session-validity cache (services/sessions/validity.py).

Writing: the services describe a new session as a ``NewSessionToken``; ``deliver`` turns it into
the response effects (objects with ``apply_to(response)``): ``X-Session-Lifetime`` and
``X-Session-Retention``, and either the session cookie (platform.md §2.5) or ``X-Auth-Token``
(``SESSION.ENABLE_AUTH_TOKEN_HEADER``). ``logout`` ends the session and expires the cookie.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase

from hankoflow.conf import settings
from hankoflow.engine import RequestFacts
from hankoflow.services import sessions
from hankoflow.services.sessions import NewSessionToken, Retention, SessionEnded, SessionInfo
from hankoflow.services.sessions.validity import SessionUser, authenticate

BEARER_PREFIX = "bearer "
_SAME_SITE = {"strict": "Strict", "lax": "Lax", "none": "None"}
_UNSET = object()
_REQUEST_ATTR = "_hankoflow_session"
_USER_ATTR = "_hankoflow_session_user"


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


def session_effects(new: NewSessionToken) -> tuple[Any, ...]:
    """The headers and the cookie (or ``X-Auth-Token``) that hand a new session to the client."""
    effects: list[Any] = [SessionHeaders(new.lifetime, new.retention)]
    if settings.SESSION.ENABLE_AUTH_TOKEN_HEADER:
        effects.append(AuthTokenHeader(new.token))
    else:
        max_age = new.lifetime if new.retention == "persistent" else None
        effects.append(SessionCookie(new.token, max_age, CookieAttributes.from_settings()))
    return tuple(effects)


def deliver(effects: Iterable[Any]) -> tuple[Any, ...]:
    """``effects`` with each ``NewSessionToken`` replaced by the response effects it stands for
    and each ``SessionEnded`` by the cookie's deletion; the others are kept as they are."""
    delivered: list[Any] = []
    for effect in effects:
        if isinstance(effect, NewSessionToken):
            delivered.extend(session_effects(effect))
        elif isinstance(effect, SessionEnded):
            delivered.append(DeleteSessionCookie.from_settings())
        else:
            delivered.append(effect)
    return tuple(delivered)


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
            candidates.append((sessions.SOURCE_HEADER, token))
    cookie = request.COOKIES.get(settings.SESSION.COOKIE.NAME)
    if cookie:
        candidates.append((sessions.SOURCE_COOKIE, cookie))
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
        found = sessions.validate(token, touch=touch, request=request)
        if found is not None:
            info = replace(found, token_source=source)
            break
    setattr(request, _REQUEST_ATTR, info)
    return info


def session_user_for_request(request: HttpRequest) -> SessionUser | None:
    """The user and claims of the request's valid session (candidates in the same order as
    ``session_for_request``), from the validity cache when it can tell; computed once per
    request. Reuses ``session_for_request``'s answer when that ran first."""
    cached = getattr(request, _USER_ATTR, _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    full = getattr(request, _REQUEST_ATTR, _UNSET)
    found: SessionUser | None = None
    if full is not _UNSET:
        found = SessionUser.of(full) if full is not None else None  # type: ignore[arg-type]
    else:
        for source, token in tokens_from_request(request):
            found = authenticate(token, request=request)
            if found is not None:
                found = replace(found, token_source=source)
                break
    setattr(request, _USER_ATTR, found)
    return found


def logout(request: HttpRequest, info: SessionInfo, *, env: RequestFacts) -> DeleteSessionCookie:
    """End the request's session (platform.md §2.8, ``sessions.logout``) and forget it on the
    request; returns the effect that expires the cookie."""
    sessions.logout(info.session, env=env)
    if getattr(request, _REQUEST_ATTR, None) is info:
        setattr(request, _REQUEST_ATTR, None)
        setattr(request, _USER_ATTR, None)
    return DeleteSessionCookie.from_settings()
