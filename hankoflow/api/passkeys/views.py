"""The Passkey API's endpoints: JSON in, JSON out, Hanko's error body ``{"code", "message"}``.

Authentication as in Hanko's passkey server: the register endpoints and ``transaction/
initialize`` need an API key in the ``apiKey`` header (an admin API key of scope ``full``);
the login endpoints and ``transaction/finalize`` are public. Tenancy: one tenant; the routes
under ``/<tenant_id>/`` answer only for ``PASSKEY_API.TENANT_ID`` (404 for any other id).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from hankoflow.conf import settings
from hankoflow.http.request import request_env
from hankoflow.services import api_keys, passkey_api
from hankoflow.services.passkey_api import PasskeyApiError

API_KEY_HEADER = "apiKey"  # Hanko's passkey server's header name
MAX_BODY = 64 * 1024


def error(status: int, message: str | None = None) -> JsonResponse:
    return JsonResponse(
        {"code": status, "message": message or HTTPStatus(status).phrase}, status=status
    )


@method_decorator(csrf_exempt, name="dispatch")  # JSON API: an API key or no authority at all
class PasskeyApiView(View):
    """POST only; ``handle(request, body)`` answers the JSON object the request carried."""

    http_method_names = ["post", "options"]
    requires_api_key = False

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        tenant_id = kwargs.pop("tenant_id", None)
        if tenant_id is not None and (
            not settings.PASSKEY_API.TENANT_ID
            or tenant_id.lower() != str(settings.PASSKEY_API.TENANT_ID).lower()
        ):
            return error(404)
        if request.method not in ("POST", "OPTIONS"):
            return error(405)
        return super().dispatch(request, *args, **kwargs)

    def post(self, request: HttpRequest) -> HttpResponse:
        if self.requires_api_key:
            refused = self.check_api_key(request)
            if refused is not None:
                return refused
        if len(request.body) > MAX_BODY:
            return error(413)
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, RecursionError):
            return error(400, "request body is not JSON")
        if not isinstance(body, dict):
            return error(400, "request body must be a JSON object")
        try:
            return JsonResponse(self.handle(request, body))
        except PasskeyApiError as exc:
            return error(exc.status, exc.message)

    def check_api_key(self, request: HttpRequest) -> HttpResponse | None:
        plaintext = request.headers.get(API_KEY_HEADER, "")
        if not plaintext:
            return error(401, "api key is missing")
        key = api_keys.authenticate(plaintext)
        if key is None:
            return error(401, "api key is invalid")
        if key.scope != api_keys.FULL:
            return error(403, "api key lacks the full scope")
        return None

    def handle(self, request: HttpRequest, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError


def _view(
    handler: Callable[[HttpRequest, dict[str, Any]], dict[str, Any]], *, api_key: bool
) -> Callable[..., HttpResponse]:
    view_class = type(
        handler.__name__,
        (PasskeyApiView,),
        {"requires_api_key": api_key, "handle": lambda self, r, b: handler(r, b)},
    )
    return view_class.as_view()


def _register_initialize(request: HttpRequest, body: dict[str, Any]) -> dict[str, Any]:
    return passkey_api.register_initialize(body, mfa=False)


def _register_finalize(request: HttpRequest, body: dict[str, Any]) -> dict[str, Any]:
    token = passkey_api.register_finalize(body, mfa=False, env=request_env(request))
    return {"token": token}


def _login_initialize(request: HttpRequest, body: dict[str, Any]) -> dict[str, Any]:
    return passkey_api.login_initialize(body, mfa=False)


def _login_finalize(request: HttpRequest, body: dict[str, Any]) -> dict[str, Any]:
    return {"token": passkey_api.login_finalize(body, mfa=False, env=request_env(request))}


def _mfa_register_initialize(request: HttpRequest, body: dict[str, Any]) -> dict[str, Any]:
    return passkey_api.register_initialize(body, mfa=True)


def _mfa_register_finalize(request: HttpRequest, body: dict[str, Any]) -> dict[str, Any]:
    return {"token": passkey_api.register_finalize(body, mfa=True, env=request_env(request))}


def _mfa_login_initialize(request: HttpRequest, body: dict[str, Any]) -> dict[str, Any]:
    return passkey_api.login_initialize(body, mfa=True)


def _mfa_login_finalize(request: HttpRequest, body: dict[str, Any]) -> dict[str, Any]:
    return {"token": passkey_api.login_finalize(body, mfa=True, env=request_env(request))}


def _transaction_initialize(request: HttpRequest, body: dict[str, Any]) -> dict[str, Any]:
    return passkey_api.transaction_initialize(body)


def _transaction_finalize(request: HttpRequest, body: dict[str, Any]) -> dict[str, Any]:
    return {"token": passkey_api.transaction_finalize(body, env=request_env(request))}


register_initialize = _view(_register_initialize, api_key=True)
register_finalize = _view(_register_finalize, api_key=True)
login_initialize = _view(_login_initialize, api_key=False)
login_finalize = _view(_login_finalize, api_key=False)
mfa_register_initialize = _view(_mfa_register_initialize, api_key=True)
mfa_register_finalize = _view(_mfa_register_finalize, api_key=True)
# Login endpoints are public, MFA login included (a choice: docs/passkey-api.md).
mfa_login_initialize = _view(_mfa_login_initialize, api_key=False)
mfa_login_finalize = _view(_mfa_login_finalize, api_key=False)
transaction_initialize = _view(_transaction_initialize, api_key=True)
transaction_finalize = _view(_transaction_finalize, api_key=False)
