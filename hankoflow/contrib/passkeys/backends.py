"""The authentication backend of a finalized Passkey API login."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest

from hankoflow.services import passkey_api


class PasskeyBackend(BaseBackend):
    """``authenticate(request, passkey_token=token)``: the user a login token (the answer of
    ``POST /credentials/login/finalize``) names, or None. A token is accepted once, while it is
    valid (``PASSKEY_API.TOKEN_LIFESPAN``), and only while its passkey is still the user's; an
    inactive user is refused as ``ModelBackend`` refuses one."""

    def authenticate(
        self, request: HttpRequest | None, passkey_token: Any = None, **kwargs: Any
    ) -> AbstractBaseUser | None:
        if passkey_token is None:
            return None
        try:
            user = passkey_api.redeem_login(passkey_token)
        except passkey_api.TokenInvalid:
            return None
        if not getattr(user, "is_active", True):
            return None
        return user

    def get_user(self, user_id: Any) -> AbstractBaseUser | None:
        model = get_user_model()
        user = model._default_manager.filter(pk=user_id).first()
        if user is None or not getattr(user, "is_active", True):
            return None
        return user
