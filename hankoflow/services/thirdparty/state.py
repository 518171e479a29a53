"""The OAuth ``state``: what the callback must know, sealed, and bound to the browser
(platform.md §9.2 step 1, flow-api.md §1.5.4).

The state is JSON (provider, ``redirect_to``, expiry, a random nonce, the OIDC nonce, the
client's PKCE verifier when it sent one) encrypted with ``services.crypto`` (purpose
``thirdparty state``), so the provider carries it unreadable and unforgeable. The same value is
set as the ``hanko_thirdparty_state`` cookie; a callback without PKCE must bring the cookie and
its nonce must match, so a state taken from one browser does not work in another.

A state works for one callback (``consume``): its nonce is marked used in the cache
``RATE_LIMITER.CACHE`` with an atomic ``add``, kept until the state has expired. Redis makes that
hold across every process; a per-process cache (locmem) only within one process. When the cache
cannot be asked the callback fails closed (``StateUnchecked``).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass, field

from django.http import HttpResponseBase

from hankoflow import clock
from hankoflow.conf import settings
from hankoflow.services import crypto, shared_cache

COOKIE_NAME = "hanko_thirdparty_state"
LIFETIME = 300  # seconds: the state and its cookie (Hanko: 5 minutes)
_PURPOSE = "thirdparty state"
# Seconds the used mark outlives the state: processes whose clocks differ a little still see it.
_MARK_SLACK = 60


class InvalidState(Exception):
    """The state is missing, not ours, expired, used before, or not bound to this browser."""


class StateUnchecked(Exception):
    """Whether the state was used before cannot be told: the cache failed."""


@dataclass(frozen=True)
class State:
    provider: str
    redirect_to: str
    issued_at: int
    expires_at: int
    nonce: str
    oidc_nonce: str
    code_verifier: str = field(default="", repr=False)
    user_id: str = ""
    is_flow: bool = True

    @classmethod
    def new(
        cls, provider: str, redirect_to: str, code_verifier: str = "", user_id: str = ""
    ) -> State:
        now = int(clock.timestamp())
        return cls(
            provider=provider,
            redirect_to=redirect_to,
            issued_at=now,
            expires_at=now + LIFETIME,
            nonce=secrets.token_urlsafe(32),
            oidc_nonce=secrets.token_urlsafe(32),
            code_verifier=code_verifier,
            user_id=user_id,
        )

    def seal(self) -> str:
        return crypto.encrypt(json.dumps(asdict(self), separators=(",", ":")), _PURPOSE)


def open_state(value: str | None, *, cookie: str | None) -> State:
    """The state of a callback; ``InvalidState`` unless it is ours, unexpired and (without
    PKCE) accompanied by the matching cookie."""
    state = _unseal(value)
    if state.expires_at < int(clock.timestamp()):
        raise InvalidState("expired")
    if not state.code_verifier:
        try:
            bound = _unseal(cookie)
        except InvalidState:
            raise InvalidState("state cookie missing or invalid") from None
        if not secrets.compare_digest(bound.nonce, state.nonce):
            raise InvalidState("state does not match the cookie")
    return state


def consume(state: State) -> None:
    """Use ``state`` up (security-checks OA-01); ``InvalidState`` when it was used before,
    ``StateUnchecked`` when the cache fails. Of concurrent callbacks, ``add`` lets one through."""
    # Hanko: a state can be replayed until it expires (it keeps no record of used states).
    digest = hashlib.sha256(state.nonce.encode()).hexdigest()
    timeout = max(0, state.expires_at - int(clock.timestamp())) + _MARK_SLACK
    try:
        first = shared_cache.configured().add(
            f"hankoflow:thirdparty:state-used:{digest}", 1, timeout=timeout
        )
    except Exception as exc:  # the cache's own errors (Redis down, ...): fail closed
        raise StateUnchecked(f"{type(exc).__name__}: {exc}") from exc
    if not first:
        raise InvalidState("state already used")


def peek(value: str | None) -> State | None:
    """The state without the expiry and cookie checks (to know where errors go), or None."""
    try:
        return _unseal(value)
    except InvalidState:
        return None


def _unseal(value: str | None) -> State:
    if not value or not isinstance(value, str) or len(value) > 4096:
        raise InvalidState("missing")
    try:
        raw = json.loads(crypto.decrypt(value, _PURPOSE))
        return State(**raw)
    except (crypto.InvalidToken, ValueError, TypeError):
        raise InvalidState("not a state of ours") from None


@dataclass(frozen=True)
class StateCookie:
    """``Set-Cookie: hanko_thirdparty_state`` (flow-api.md §1.5.4): ``Path=/``, the session
    cookie's ``Domain``, ``Max-Age=300``, ``Secure``, ``SameSite=None``, ``HttpOnly`` as the
    session cookie. ``value`` empty expires it (``SameSite=Lax``, as Hanko clears it)."""

    value: str = field(repr=False)
    same_site: str = "None"  # the legacy GET /thirdparty/auth sets Lax

    def apply_to(self, response: HttpResponseBase) -> None:
        cookie = settings.SESSION.COOKIE
        response.set_cookie(
            COOKIE_NAME,
            self.value,
            max_age=LIFETIME if self.value else 0,
            path="/",
            domain=cookie.DOMAIN or None,
            secure=True,
            httponly=bool(cookie.HTTP_ONLY),
            samesite=self.same_site if self.value else "Lax",
        )
