"""The SP-initiated state, sealed into the ``RelayState`` (platform.md §9.6, §1.19).

Hanko keeps it in ``saml_states``; hankoflow needs no table: the state (domain, redirect target,
the AuthnRequest id, expiry, a random nonce) is encrypted with ``services.crypto`` into
``RelayState = "hanko_spi_" + <sealed>``, and the nonce sits in Django's cache until the
callback removes it, so a state works once.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass

from django.core.cache import cache

from hankoflow import clock
from hankoflow.services import crypto

PREFIX = "hanko_spi_"
LIFETIME = 300  # seconds; Hanko: 1 minute, short for a person typing a password at the IdP
_PURPOSE = "saml state"


class InvalidState(Exception):
    """Not ours, expired, or already used."""


@dataclass(frozen=True)
class State:
    domain: str
    redirect_to: str
    request_id: str
    nonce: str
    expires_at: int

    @classmethod
    def new(cls, domain: str, redirect_to: str, request_id: str) -> State:
        return cls(
            domain=domain,
            redirect_to=redirect_to,
            request_id=request_id,
            nonce=secrets.token_urlsafe(32),
            expires_at=int(clock.timestamp()) + LIFETIME,
        )

    def issue(self) -> str:
        """The ``RelayState``; the nonce is registered and can be used once."""
        cache.add(_key(self.nonce), 1, timeout=LIFETIME + 60)
        return PREFIX + crypto.encrypt(json.dumps(asdict(self), separators=(",", ":")), _PURPOSE)


def is_sp_initiated(relay_state: str) -> bool:
    return isinstance(relay_state, str) and relay_state.startswith(PREFIX)


def peek(relay_state: str) -> State | None:
    """The state without the expiry and single-use checks (to know where errors go)."""
    try:
        return _unseal(relay_state)
    except InvalidState:
        return None


def redeem(relay_state: str) -> State:
    """The state of a callback, used up; ``InvalidState`` unless ours, unexpired and unused."""
    state = _unseal(relay_state)
    # The delete decides: of two callbacks with the same state only one removes the nonce.
    if not cache.delete(_key(state.nonce)):
        raise InvalidState("state already used or unknown")
    if state.expires_at < int(clock.timestamp()):
        raise InvalidState("state expired")
    return state


def _unseal(relay_state: str) -> State:
    if not is_sp_initiated(relay_state) or len(relay_state) > 4096:
        raise InvalidState("missing")
    try:
        raw = json.loads(crypto.decrypt(relay_state[len(PREFIX) :], _PURPOSE))
        return State(**raw)
    except (crypto.InvalidToken, ValueError, TypeError):
        raise InvalidState("not a state of ours") from None


def _key(nonce: str) -> str:
    return f"hankoflow:saml:state:{nonce}"
