"""DRF authentication by Hanko session (platform.md §2.4): ``request.user`` and ``request.auth``.

Add ``"hankoflow.api.authentication.HankoSessionAuthentication"`` to
``REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"]`` (or a view's ``authentication_classes``).
A request with a valid session token (``Authorization: Bearer <JWT>``, else the session
cookie) is authenticated as the session's Django user, with the token's claims as
``request.auth``. A token carried by the cookie is ambient authority, so unsafe methods then
need Django's CSRF token exactly as with DRF's ``SessionAuthentication``; a Bearer token does
not (security-checks SE-10). Unauthenticated requests get ``401`` with
``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.request import Request

from hankoflow.http.sessions import session_user_for_request


class HankoSessionAuthentication(BaseAuthentication):
    www_authenticate_realm = "api"

    def authenticate(self, request: Request) -> tuple[Any, dict[str, Any]] | None:
        info = session_user_for_request(request._request)
        if info is None:
            return None
        if info.from_cookie:
            SessionAuthentication().enforce_csrf(request)
        return info.user, info.claims

    def authenticate_header(self, request: Request) -> str:
        return f'Bearer realm="{self.www_authenticate_realm}"'
