"""What every legacy endpoint shares: the on/off switch, reading the JSON body, the session
(and the origin check for changes made with its cookie), Hanko's error body, the flows' rate
limits, the re-authentication window, and handing out a new session.

Sessions come as the flows hand them out (the cookie, or ``X-Auth-Token``) but, as Hanko v2's
REST logins did, only with ``X-Session-Lifetime`` (platform.md §3.3) and without ``amr``.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpResponse, JsonResponse
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request

from hankoflow.api.public.base import PublicView
from hankoflow.api.public.sessions import (
    error,
    no_store,
    same_or_allowed_origin,
    unauthorized,
)
from hankoflow.conf import settings
from hankoflow.http import sessions as http_sessions
from hankoflow.http.request import RequestEnv, request_env
from hankoflow.models import Account
from hankoflow.services import events, ratelimit, sessions, webhooks
from hankoflow.services.sessions import NewSessionToken, SessionInfo, reauthentication

# error, no_store and unauthorized are the session endpoints' own, shared by every legacy module.
__all__ = ["LegacyView", "error", "no_store", "unauthorized"]


class LegacyView(PublicView):
    """A legacy endpoint: 404 unless ``LEGACY_API.ENABLED`` and ``available()``."""

    def available(self) -> bool:
        """Whether Hanko v2.7.0 mounts this route with the current settings (§3.1)."""
        return True

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # A plain OPTIONS stays answered (empty, with Allow), as on every other route.
        enabled = settings.LEGACY_API.ENABLED and self.available()
        if not enabled and request.method != "OPTIONS":
            raise NotFound
        super().initial(request, *args, **kwargs)


class BodyInvalid(Exception):
    """The body is not a JSON object."""


def body(request: Request) -> dict[str, Any]:
    """The request's JSON object (DRF answers 400 for malformed JSON); ``BodyInvalid`` for
    anything else, an empty body being an empty object."""
    data = request.data
    if not data:
        return {}
    if not isinstance(data, dict):
        raise BodyInvalid
    return data


def string(data: dict[str, Any], key: str) -> str:
    """``data[key]`` when it is a string, else an empty string (a missing or wrong-typed field
    is the client's mistake: Hanko's binder answers 400 for it)."""
    value = data.get(key)
    return value if isinstance(value, str) else ""


def plausible_email(address: str) -> bool:
    """Hanko v2's check of a posted address: non-empty, an ``@``, at most ``EMAIL.MAX_LENGTH``."""
    return bool(address) and "@" in address and len(address) <= settings.EMAIL.MAX_LENGTH


def parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def same_user(info: SessionInfo, user_id: str) -> bool:
    """Whether ``user_id`` names the session's own user."""
    return parse_uuid(user_id) == info.account.pk


REAUTHENTICATION_NEEDED = "re-authentication required: sign in again"


def reauthentication_refusal(info: SessionInfo) -> HttpResponse | None:
    """403 when a sensitive change comes from a session whose last authentication is older than
    ``PROFILE.REAUTHENTICATION_MAX_AGE``, as the profile flow would ask to authenticate again."""
    # Hanko: no such rule. An endpoint cannot run the profile's re-authentication, so it
    # refuses; a fresh sign-in (or the profile flow) makes the change possible.
    if reauthentication.reauthentication_due(info.session):
        return error(403, REAUTHENTICATION_NEEDED)
    return None


def env_of(request: Request, info: SessionInfo | None = None) -> RequestEnv:
    return request_env(request._request, session=info)


def session_of(request: Request) -> SessionInfo | None:
    """The request's session. A change made with the session cookie must come from this site
    or an allowed origin (``PermissionDenied``: 403), as ``POST /logout`` requires."""
    info = http_sessions.session_for_request(request._request)
    if (
        info is not None
        and info.from_cookie
        and request.method not in SAFE_METHODS
        and not same_or_allowed_origin(request._request)
    ):
        # Hanko: answers any origin; the cookie is ambient authority (security-checks SE-10).
        raise PermissionDenied
    return info


def limited(bucket: ratelimit.Bucket, key: str) -> HttpResponse | None:
    """Spend one token of the flows' ``bucket`` for ``key``; the 429 answer when refused."""
    decision = ratelimit.take(bucket, key)
    if decision.allowed:
        return None
    # Hanko: X-RateLimit-Limit/-Remaining/-Reset on every limited answer; we send Retry-After
    # on the refusal only, as the flows do (the shared buckets keep no remaining count).
    response = error(429)
    response["Retry-After"] = str(decision.retry_after)
    return response


def sign_in(
    request: Request, account: Account, response: HttpResponse, *, login: bool = True
) -> str:
    """Issue a session for ``account`` as a flow's success does (row, limit, ``session.create``
    webhook; for a login also ``login_succeeded`` and ``user.login``) and put it into
    ``response``; returns the session id."""
    env = env_of(request)
    # §3.3: no amr in the legacy endpoints' tokens.
    issued = sessions.issue(account, amr=[], env=env, remember_me=None)
    webhooks.session_created(issued.session_id)
    if login:
        events.login_succeeded(account, amr=[], session_id=issued.session_id, env=env)
        webhooks.user_changed(webhooks.events.USER_LOGIN, account, env=env)
    for effect in issued.effects:
        if isinstance(effect, NewSessionToken):
            deliver_token(effect, response)
    return issued.session_id


def deliver_token(token: NewSessionToken, response: HttpResponse) -> None:
    """The cookie or ``X-Auth-Token``, and ``X-Session-Lifetime`` only (§3.3)."""
    for effect in http_sessions.session_effects(token):
        if isinstance(effect, http_sessions.SessionHeaders):
            response["X-Session-Lifetime"] = str(effect.lifetime)
        else:
            effect.apply_to(response)


def json(data: Any, status: int = 200) -> HttpResponse:
    """A JSON answer that is never cached (it describes a user or a session)."""
    return no_store(JsonResponse(data, status=status, safe=False))


def null(status: int = 200) -> HttpResponse:
    """Hanko's ``null`` body (``c.JSON(status, nil)``)."""
    return no_store(HttpResponse(b"null", status=status, content_type="application/json"))
