"""The facts of an HTTP request that a flow step may know: client IP, user agent, language.

Built once per request by the transports (``api/``, ``web/``) and handed to the engine, which
passes it on as ``ctx.env``; services type it as the engine's ``RequestFacts`` protocol, so they
never import a transport.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.http import HttpRequest

from hankoflow.services.client_ip import client_ip
from hankoflow.services.sessions import SessionInfo, storable_user_agent
from hankoflow.services.sessions.issuing import USER_AGENT_MAX_LENGTH

# At most four subtags: 35 characters, what the flow row stores (issue 8: longer ones made
# PostgreSQL fail). Used with fullmatch: "$" would also match before a final newline.
LANGUAGE_PATTERN = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8}){0,3}")


@dataclass(frozen=True)
class RequestEnv:
    """What actions and hooks may know about the HTTP request behind a step."""

    request: HttpRequest
    language: str
    ip: str
    user_agent: str
    # The request's validated session: set by the runner for the profile flow only.
    session: SessionInfo | None = None


def request_env(request: HttpRequest, *, session: SessionInfo | None = None) -> RequestEnv:
    # META, not request.headers: building that mapping costs more than the rest of this.
    meta = request.META
    language = meta.get("HTTP_X_LANGUAGE", "")
    user_agent = meta.get("HTTP_USER_AGENT", "")
    if not (len(user_agent) <= USER_AGENT_MAX_LENGTH and user_agent.isprintable()):
        user_agent = storable_user_agent(user_agent)  # rare: the character-by-character clean
    return RequestEnv(
        request=request,
        language=language if language and LANGUAGE_PATTERN.fullmatch(language) else "",
        ip=client_ip(request),
        user_agent=user_agent,
        session=session,
    )
