"""A passkey button for the host's own login page, and "Add a passkey" for signed-in users."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.auth import authenticate
from django.contrib.auth import login as auth_login
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views import View

from hankoflow.http.request import request_env
from hankoflow.services import passkey_api

TOKEN_FIELD = "passkey_token"  # noqa: S105 (a form field's name)
PASSKEY_FAILED = _("Signing in with a passkey did not work. Please try again.")


class PasskeyLoginMixin:
    """For a ``LoginView`` (Django's, allauth's): a POST carrying ``passkey_token`` signs in the
    user the token names (``PasskeyBackend``) and goes where a password sign-in would; any other
    POST is the view's own. The template includes ``hankoflow_passkeys/login_button.html``."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = request.POST.get(TOKEN_FIELD)
        if token is None:
            return super().post(request, *args, **kwargs)  # type: ignore[misc]
        user = authenticate(request, passkey_token=token)
        if user is None:
            form = self.get_form_class()(request=request)  # type: ignore[attr-defined]
            context = self.get_context_data(form=form, passkey_error=PASSKEY_FAILED)  # type: ignore[attr-defined]
            return self.render_to_response(context, status=400)  # type: ignore[attr-defined]
        auth_login(request, user)
        return HttpResponseRedirect(self.get_success_url())  # type: ignore[attr-defined]


class PasskeyLoginView(PasskeyLoginMixin, LoginView):
    """Django's ``LoginView`` with the passkey sign-in."""


class _SignedInJsonView(View):
    """JSON for the signed-in user; 401 without one. CSRF-protected as any session POST."""

    http_method_names = ["post"]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return JsonResponse({"code": 401, "message": "Unauthorized"}, status=401)
        return super().dispatch(request, *args, **kwargs)

    def body(self, request: HttpRequest) -> Any:
        try:
            return json.loads(request.body or b"{}")
        except (ValueError, RecursionError):
            return None


class RegisterOptionsView(_SignedInJsonView):
    """Creation options for a new passkey of the signed-in user (Passkey API registration)."""

    def post(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        body = {"user_id": str(user.pk), "username": user.get_username() or str(user.pk)}
        full_name = getattr(user, "get_full_name", lambda: "")()
        if full_name:
            body["display_name"] = full_name[: passkey_api.MAX_USERNAME]
        try:
            return JsonResponse(passkey_api.register_initialize(body, mfa=False))
        except passkey_api.PasskeyApiError as exc:
            return JsonResponse({"code": exc.status, "message": exc.message}, status=exc.status)


class RegisterView(_SignedInJsonView):
    """Stores the new passkey; only a ceremony started for the signed-in user is accepted."""

    def post(self, request: HttpRequest) -> HttpResponse:
        response = self.body(request)
        if not isinstance(response, dict):
            return JsonResponse({"code": 400, "message": "Bad Request"}, status=400)
        try:
            token = passkey_api.register_finalize(
                response, mfa=False, env=request_env(request), user_id=str(request.user.pk)
            )
        except passkey_api.PasskeyApiError as exc:
            return JsonResponse({"code": exc.status, "message": exc.message}, status=exc.status)
        return JsonResponse({"credential_id": passkey_api.verify_token(token)["cred"]})
