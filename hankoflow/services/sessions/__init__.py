"""Sessions: issuing, validating and revoking Hanko session JWTs (platform.md §2,
flow-api.md §4.5.2).

A session is an RS256 JWT **and** a ``Session`` row whose id is the token's ``session_id``;
both must be valid, so deleting the row revokes the token at once (security-checks SE-05).

* ``tokens``: the claims we sign, checking a token we signed (SE-01, SE-02), Hanko's claims DTO;
* ``issuing``: ``issue`` stores the row under ``SESSION.LIMIT`` and returns the token with a
  ``NewSessionToken`` effect for the transport;
* ``validation``: ``validate`` gives the ``SessionInfo`` of a valid token, else None;
* ``revocation``: logout, ``revoke``/``revoke_all``, the limit and the idle timeout end sessions,
  each sending ``hankoflow.signals.session_revoked`` with the reason;
* ``validity``: ``authenticate`` gives the user and claims of a valid token for ``request.user``,
  from a short-lived entry in the shared cache when it has one; every deleted row marks its
  entry ended before the deletion commits.

What HTTP makes of a session (cookies, ``X-Session-*`` headers, reading the token from a
request) lives next to the transport, in ``hankoflow.http.sessions``. The names below are the
package's public API.
"""

from hankoflow.services.sessions.issuing import (
    IssuedSession,
    NewSessionToken,
    Retention,
    issue,
    retention_for,
    storable_ip,
    storable_user_agent,
)
from hankoflow.services.sessions.revocation import (
    SessionEnded,
    active_sessions,
    logout,
    revoke,
    revoke_all,
    revoke_of,
)
from hankoflow.services.sessions.tokens import audience, claims_payload, decode
from hankoflow.services.sessions.user_agents import describe_user_agent
from hankoflow.services.sessions.validation import (
    SOURCE_COOKIE,
    SOURCE_HEADER,
    SessionInfo,
    idle_expires_at,
    validate,
)

__all__ = [
    "SOURCE_COOKIE",
    "SOURCE_HEADER",
    "IssuedSession",
    "NewSessionToken",
    "Retention",
    "SessionEnded",
    "SessionInfo",
    "active_sessions",
    "audience",
    "claims_payload",
    "decode",
    "describe_user_agent",
    "idle_expires_at",
    "issue",
    "logout",
    "retention_for",
    "revoke",
    "revoke_all",
    "revoke_of",
    "storable_ip",
    "storable_user_agent",
    "validate",
]
