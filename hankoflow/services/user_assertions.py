"""User assertions: the Flow Execution API's ``userAssertion`` (docs/flow-execution.md).

With ``FLOW_EXECUTION.AUTO_LOGIN`` a completed flow that signed the person in also answers a
short-lived RS256 JWT, signed with the session keys (its ``kid`` in ``/.well-known/jwks.json``),
that an app can verify on its own and exchange once for a session of its own
(``POST /flow/assertion``). It is not a session token: its ``typ`` is ``user-assertion+jwt``,
its audience is ``AUDIENCE`` and it has no ``session_id``, so neither kind of token passes as
the other. Its ``jti`` is a one-time exchange token (``thirdparty.tokens``: digest stored,
deleted when used, 60 seconds), so an assertion is redeemed at most once, whichever process
sees it, without a table of its own.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from hankoflow import clock
from hankoflow.engine import RequestFacts
from hankoflow.models import Account
from hankoflow.services import audit, events, sessions, webhooks
from hankoflow.services.jwks import purpose
from hankoflow.services.sessions.issuing import IssuedSession
from hankoflow.services.sessions.tokens import canonical_uuid
from hankoflow.services.thirdparty import tokens

TOKEN_TYPE = "user-assertion+jwt"  # noqa: S105 (the JOSE "typ" value, not a secret)
AUDIENCE = "hankoflow:user-assertion"
LIFESPAN = tokens.TTL  # seconds: the one-time token inside lives as long
REQUIRED_CLAIMS = ["exp", "iat", "sub", "aud", "jti"]


class AssertionInvalid(Exception):
    """Not ours, tampered, expired, already used, or its user is gone."""


def issue(account: Account, *, amr: list[str], flow_type: str) -> str:
    """A user assertion for ``account``, just signed in by a ``flow_type`` flow."""
    one_time = tokens.issue(account, None, user_created=False, code_verifier="")
    now = int(clock.timestamp())
    claims: dict[str, Any] = {
        "sub": str(account.pk),
        "aud": [AUDIENCE],
        "iat": now,
        "exp": now + LIFESPAN,
        "jti": one_time,
        "amr": list(amr),
        "flow_type": flow_type,
    }
    return purpose.sign(claims, typ=TOKEN_TYPE)


def redeem(token: Any, *, env: RequestFacts | None) -> IssuedSession:
    """Check ``token``, use it up and issue a session for its user (``AssertionInvalid``)."""
    claims = _verify(token)
    with transaction.atomic():
        try:
            exchanged = tokens.consume(claims["jti"], None)
        except (tokens.TokenInvalid, tokens.VerifierMismatch):
            raise AssertionInvalid from None
        account = exchanged.account
        if canonical_uuid(claims["sub"]) != account.pk:
            raise AssertionInvalid
        amr = [m for m in claims.get("amr") or [] if isinstance(m, str)]
        issued = sessions.issue(account, amr=amr, env=env, remember_me=None)
        audit.record(
            audit.LOGIN_SUCCESS,
            env=env,
            account=account,
            details={"login_method": "user_assertion", "flow_type": claims.get("flow_type")},
        )
        # A sign-in like the flows' own: the host's signal, and the session.create webhook.
        events.login_succeeded(account, amr=amr, session_id=issued.session_id, env=env)
        webhooks.session_created(issued.session_id)
    return issued


def _verify(token: Any) -> dict[str, Any]:
    claims = purpose.verify(token, typ=TOKEN_TYPE, audience=AUDIENCE, required=REQUIRED_CLAIMS)
    if claims is None:
        raise AssertionInvalid
    return claims
