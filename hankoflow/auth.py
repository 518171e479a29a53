"""Django integration: a valid Hanko session makes its user ``request.user`` (platform.md §2.4).

``install(request)`` is what ``HankoflowMiddleware`` runs for every request. It replaces
``request.user`` with a lazy object: on first use it validates the request's session token
(``Authorization: Bearer`` first, then the session cookie;
``hankoflow.http.sessions.session_user_for_request``: the session-validity cache, else the
session row) and becomes the session's Django user, or falls
back to whatever user Django's own ``AuthenticationMiddleware`` found (usually ``AnonymousUser``).
``request.auth`` is the lazy mapping of the token's claims (``sub``, ``session_id``, ``exp``,
``amr``...), empty without a valid session. Nothing touches the database unless a view or template
reads one of them, and requests without a token are left exactly as Django made them.
``login_required``, ``permission_required`` and templates' ``{{ user }}`` work unchanged.

``HankoSessionBackend`` is the matching authentication backend, for code that wants
``django.contrib.auth.authenticate(request, session_token=...)``; the middleware does not need
it in ``AUTHENTICATION_BACKENDS``.
"""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from hankoflow.http.sessions import session_user_for_request, tokens_from_request
from hankoflow.services.sessions import validity

_INSTALLED = "_hankoflow_auth_installed"


def install(request: HttpRequest) -> None:
    """Make a valid session's user ``request.user`` (lazily); idempotent."""
    if getattr(request, _INSTALLED, False):
        return
    setattr(request, _INSTALLED, True)
    if not tokens_from_request(request):
        request.auth = {}  # type: ignore[attr-defined]
        return
    fallback = getattr(request, "user", None)
    fallback_auser = getattr(request, "auser", None)

    def user() -> Any:
        info = session_user_for_request(request)
        if info is not None:
            return info.user
        return fallback if fallback is not None else AnonymousUser()

    def claims() -> dict[str, Any]:
        info = session_user_for_request(request)
        return info.claims if info is not None else {}

    async def auser() -> Any:
        info = await sync_to_async(session_user_for_request)(request)
        if info is not None:
            return info.user
        if fallback_auser is not None:
            return await fallback_auser()
        return AnonymousUser()

    request.user = SimpleLazyObject(user)
    request.auth = SimpleLazyObject(claims)  # type: ignore[attr-defined]
    request.auser = auser  # type: ignore[attr-defined]


class HankoSessionBackend(BaseBackend):
    """``authenticate(request, session_token=<JWT>)`` → the session's user, or None."""

    def authenticate(
        self, request: HttpRequest | None, session_token: str | None = None, **kwargs: Any
    ) -> AbstractBaseUser | None:
        if session_token is None:
            return None
        info = validity.authenticate(session_token, request=request)
        return info.user if info is not None else None

    def get_user(self, user_id: Any) -> AbstractBaseUser | None:
        return validity.active_user(user_id)
