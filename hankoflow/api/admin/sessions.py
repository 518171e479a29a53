"""Admin API: sessions (platform.md §4.3.8): a user's active sessions, ending one, and
``POST /sessions``, which issues a session for a user as a backend asks.

A session is issued by ``services.sessions.issue`` as a sign-in issues one: ``SESSION.LIMIT``
applies (the oldest sessions end), the row stores the user agent and IP address the caller
gives (as ``SESSION.ACQUIRE_*`` allow), the token carries no ``amr``, and it is answered in the
body only: no cookie, no ``X-Auth-Token``.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.urls import path
from rest_framework.request import Request

from hankoflow import signals
from hankoflow.api.admin.base import actor
from hankoflow.api.admin.user_scope import (
    ApiError,
    UserResourceView,
    json_object,
    parse_uuid,
    user_or_404,
)
from hankoflow.http.request import RequestEnv
from hankoflow.models import Session
from hankoflow.services import audit, sessions, webhooks
from hankoflow.services.accounts import rfc3339
from hankoflow.services.client_ip import valid_address

USER_ID_INVALID = "user_id must be a valid uuid"
SESSION_ID_INVALID = "session_id must be a valid uuid4"
SESSION_NOT_FOUND = "session not found"


def session_dto(session: Session) -> dict[str, Any]:
    """The session JSON of platform.md §1.10 (``null`` for what was not recorded)."""
    return {
        "id": str(session.id),
        "user_id": str(session.account_id),
        "user_agent": session.user_agent or None,
        "ip_address": session.ip_address or None,
        "created_at": rfc3339(session.created_at),
        "updated_at": rfc3339(session.updated_at),
        "expires_at": rfc3339(session.expires_at),
        "last_used": rfc3339(session.last_used),
    }


class UserSessionsView(UserResourceView):
    def get(self, request: Request, user_id: str) -> JsonResponse:
        account = user_or_404(user_id, invalid=USER_ID_INVALID)
        return JsonResponse([session_dto(s) for s in sessions.active_sessions(account)], safe=False)


class UserSessionView(UserResourceView):
    def delete(self, request: Request, user_id: str, session_id: str) -> HttpResponse:
        account = user_or_404(user_id, invalid=USER_ID_INVALID)
        key = parse_uuid(session_id, SESSION_ID_INVALID, v4=True)
        with transaction.atomic():
            ended = sessions.revoke_of(
                account, key, reason=signals.REASON_REVOKED, request=request._request
            )
            if ended is None:
                raise ApiError(404, SESSION_NOT_FOUND)
            # Hanko: no audit type for a revocation; user_logged_out, as sessions.revoke_all.
            details = actor(request, reason=signals.REASON_REVOKED, session_ids=[str(key)])
            audit.record(audit.USER_LOGGED_OUT, env=self.env, account=account, details=details)
        return HttpResponse(status=204)


def _optional_string(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApiError(400, f"{key} must be a string")
    return value


class CreateSessionView(UserResourceView):
    def post(self, request: Request) -> JsonResponse:
        body = json_object(request)
        raw_id = body.get("user_id")
        if raw_id is None or raw_id == "":
            raise ApiError(400, "user_id is a required field")
        if not isinstance(raw_id, str):
            raise ApiError(400, USER_ID_INVALID)
        user_agent = _optional_string(body, "user_agent")
        ip = _optional_string(body, "ip_address")
        if ip and not valid_address(ip):
            raise ApiError(400, "ip_address must be a valid ip address")
        account = user_or_404(raw_id, invalid=USER_ID_INVALID)
        caller = self.env
        # The row records the client the caller speaks for, not the caller.
        client = RequestEnv(
            request=caller.request,
            language="",
            ip=ip,
            user_agent=sessions.storable_user_agent(user_agent),
        )
        with transaction.atomic():
            issued = sessions.issue(account, amr=[], env=client, remember_me=None)
            audit.record(
                audit.LOGIN_SUCCESS,
                env=caller,
                account=account,
                details=actor(request, session_id=issued.session_id),
            )
            webhooks.session_created(issued.session_id, event=webhooks.events.SESSION_CREATE_ADMIN)
        response = JsonResponse({"session_token": issued.token})
        response["Cache-Control"] = "no-store"
        return response


urlpatterns = [
    path("sessions", CreateSessionView.as_view(), name="sessions"),
    path("users/<str:user_id>/sessions", UserSessionsView.as_view(), name="user-sessions"),
    path(
        "users/<str:user_id>/sessions/<str:session_id>",
        UserSessionView.as_view(),
        name="user-session",
    ),
]
