"""Session endpoints of Hanko's public API (platform.md §2.2, §2.6–2.8, §3.3.10;
openapi-public.yaml): ``GET /.well-known/jwks.json``, ``GET``/``POST /sessions/validate``,
``GET``/``DELETE /me``, ``GET /users/{id}`` and ``POST /logout``.

Errors use Hanko's non-flow shape ``{"code": <status>, "message": <text>}``. Answers that
describe a session or a user are ``Cache-Control: no-store`` (security-checks IN-07).
"""

from __future__ import annotations

import json
import uuid
from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.request import Request

from hankoflow.api.public.base import PublicView
from hankoflow.conf import settings
from hankoflow.http import sessions as http_sessions
from hankoflow.middleware import origin_allowed
from hankoflow.services import account_deletion, accounts, jwks, profile, sessions, webauthn
from hankoflow.services.sessions import reauthentication

JWKS_MAX_AGE = 600  # seconds, as Hanko
MAX_VALIDATE_BODY = 64 * 1024


def error(status: int, message: str | None = None) -> JsonResponse:
    """Hanko's error body; the message defaults to the reason phrase (platform.md §0.3)."""
    body = {"code": status, "message": message or HTTPStatus(status).phrase}
    return no_store(JsonResponse(body, status=status))


def no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def unauthorized(request: HttpRequest) -> JsonResponse:
    response = error(401)
    if settings.SESSION.COOKIE.NAME in request.COOKIES:
        # Hanko: leaves a dead session cookie in place; we expire it, since an HttpOnly cookie
        # can only be removed by the server and it can never become valid again.
        http_sessions.DeleteSessionCookie.from_settings().apply_to(response)
    return response


def validation_body(info: sessions.SessionInfo | None) -> dict[str, Any]:
    """The ``ValidateSessionResponse`` of platform.md §2.6."""
    if info is None:
        return {"is_valid": False}
    claims = sessions.claims_payload(info.claims)
    body: dict[str, Any] = {
        "is_valid": True,
        "claims": claims,
        "expiration_time": claims["expiration"],
        "user_id": claims["subject"],
    }
    idle_expiry = sessions.idle_expires_at(info.session)
    if idle_expiry is not None:
        body["idle_expires_at"] = accounts.rfc3339(idle_expiry)
    return body


class JWKSView(PublicView):
    """``GET /.well-known/jwks.json``: the public keys that verify session tokens."""

    def get(self, request: Request) -> HttpResponse:
        response = JsonResponse(jwks.public_jwks())
        response["Cache-Control"] = f"max-age={JWKS_MAX_AGE}"
        return response


class ValidateSessionView(PublicView):
    """``GET``: validate the request's own token, passively (``last_used`` untouched).
    ``POST {"session_token": ...}``: validate a token handed over by an app backend, recording
    the use. Both answer 200 ``{"is_valid": false}`` for anything that is not a valid session."""

    parser_classes: list[Any] = []  # the body is read by read_session_token

    def get(self, request: Request) -> HttpResponse:
        info = http_sessions.session_for_request(request._request, touch=False)
        return no_store(JsonResponse(validation_body(info)))

    def post(self, request: Request) -> HttpResponse:
        token, problem = read_session_token(request._request)
        if problem is not None:
            return problem
        return no_store(JsonResponse(validation_body(sessions.validate(token))))


def read_session_token(request: HttpRequest) -> tuple[str, HttpResponse | None]:
    """``session_token`` from a JSON (or, as Hanko's binder allows, form) body; 400/413/415."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return "", error(400)
    if declared > MAX_VALIDATE_BODY:
        return "", error(413)
    raw = request.body
    if len(raw) > MAX_VALIDATE_BODY:
        return "", error(413)
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    document: Any = {}
    if raw.strip():
        if content_type == "application/json":
            try:
                document = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                return "", error(400)
        elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            document = {"session_token": request.POST.get("session_token", "")}
        else:
            return "", error(415)
    if not isinstance(document, dict):
        return "", error(400)
    token = document.get("session_token")
    if token is None or token == "":
        return "", error(400, "session_token is a required field")
    if not isinstance(token, str):
        return "", error(400)
    return token, None


class MeView(PublicView):
    """``GET /me``: the session user's profile (flow-api.md §4.6.1); 401 without a session."""

    def get(self, request: Request) -> HttpResponse:
        info = http_sessions.session_for_request(request._request)
        if info is None:
            return unauthorized(request._request)
        return no_store(JsonResponse(profile.profile_data(info.account)))

    def delete(self, request: Request) -> HttpResponse:
        """``DELETE /me``: the session user deletes their own account."""
        return delete_own_account(request._request)


REAUTHENTICATION_NEEDED = (
    "re-authentication required: sign in again or delete the account in the profile"
)


def delete_own_account(request: HttpRequest, *, legacy: bool = False) -> HttpResponse:
    """``DELETE /me`` and the legacy ``DELETE /user``: the profile's ``account_delete`` rules.

    401 without a session; 403 when ``ACCOUNT.ALLOW_DELETION`` is off, for a cookie-carried
    session from a foreign origin, or when the session's last authentication is older than
    ``PROFILE.REAUTHENTICATION_MAX_AGE``; otherwise the account goes, the cookie is expired, 204.
    """
    from hankoflow.http.request import request_env

    info = http_sessions.session_for_request(request)
    if info is None:
        return unauthorized(request)
    if not settings.ACCOUNT.ALLOW_DELETION:
        return error(403)
    if info.from_cookie and not same_or_allowed_origin(request):
        # Hanko: answers any origin; the cookie is ambient authority (security-checks SE-10).
        return error(403)
    if reauthentication.reauthentication_due(info.session):
        # Hanko: deletes at once. An endpoint cannot ask for a password or passkey as the
        # profile flow does, so a session that last proved who it is too long ago is refused.
        return error(403, REAUTHENTICATION_NEEDED)
    details = {"self_service": True, "endpoint": "/user" if legacy else "/me"}
    account_deletion.delete_account(info.account, env=request_env(request), audit_details=details)
    response = HttpResponse(status=204)
    http_sessions.DeleteSessionCookie.from_settings().apply_to(response)
    return no_store(response)


class UserView(PublicView):
    """``GET /users/{id}`` (legacy, read by the SDK's deprecated ``getUser()``): the session's
    own user only; 401 without a session, 400 for a malformed id, 403 for anybody else."""

    def get(self, request: Request, user_id: str) -> HttpResponse:
        info = http_sessions.session_for_request(request._request)
        if info is None:
            return unauthorized(request._request)
        try:
            wanted = uuid.UUID(user_id)
        except ValueError:
            return error(400, "failed to parse userId as uuid")
        if wanted != info.account.pk:
            return error(403)
        account = accounts.get(wanted)
        if account is None:
            return error(404)
        return no_store(JsonResponse(legacy_user(account)))


def legacy_user(account: accounts.Account) -> dict[str, Any]:
    """The profile object merged with the v2 user fields (platform.md §3.3.10)."""
    data = profile.profile_data(account)
    account_facts = accounts.facts(account)
    data.pop("username", None)
    if account_facts.primary_email:
        data["email"] = account_facts.primary_email
    if account_facts.username:
        data["username"] = account_facts.username  # the plain string here, not the object
    data["webauthn_credentials"] = [
        webauthn.legacy_credential_dto(c) for c in webauthn.credentials_of(account)
    ]
    return data


class LogoutView(PublicView):
    """``POST /logout``: delete the session row, expire the cookie, 204; 401 without a session.

    Hanko: answers any origin. A session carried by the cookie is ambient authority, so a
    cross-origin request must come from an allowed CORS origin (403 otherwise; security-checks
    SE-10). Requests without an ``Origin`` header (not from a browser) and Bearer tokens are
    not affected.
    """

    def post(self, request: Request) -> HttpResponse:
        from hankoflow.http.request import request_env

        django_request = request._request
        info = http_sessions.session_for_request(django_request)
        if info is None:
            return unauthorized(django_request)
        if info.from_cookie and not same_or_allowed_origin(django_request):
            return error(403)
        effect = http_sessions.logout(django_request, info, env=request_env(django_request))
        response = HttpResponse(status=204)
        effect.apply_to(response)
        return no_store(response)


def same_or_allowed_origin(request: HttpRequest) -> bool:
    """No ``Origin`` header, this site's own origin, or one of ``CORS.ALLOW_ORIGINS``."""
    origin = request.headers.get("Origin")
    if not origin:
        return True
    if origin == f"{request.scheme}://{request.get_host()}":
        return True
    return origin_allowed(origin)
