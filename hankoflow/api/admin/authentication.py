"""``Authorization: Bearer <API key>`` for the admin API (platform.md §4.1), and the scopes.

Without a valid key: 401 ``{"code":401,"message":"Unauthorized"}`` (Hanko Cloud's body). A
``read`` key on anything but GET/HEAD/OPTIONS: 403. ``request.auth`` is the ``ApiKey``.
"""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from hankoflow.models import ApiKey
from hankoflow.services import api_keys

BEARER = "bearer "


class ApiKeyUser:
    """The caller as DRF sees it: authenticated, no Django user behind it."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, key: ApiKey) -> None:
        self.key = key

    def __str__(self) -> str:
        return f"API key {self.key.name}"


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiKeyUser, ApiKey]:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header[: len(BEARER)].lower() != BEARER:
            raise AuthenticationFailed()
        key = api_keys.authenticate(header[len(BEARER) :].strip())
        if key is None:
            raise AuthenticationFailed()
        return ApiKeyUser(key), key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="admin"'


class KeyScope(BasePermission):
    """A read-only key reads; a full key does everything."""

    def has_permission(self, request: Request, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        return request.method in SAFE_METHODS or key.scope == ApiKey.Scope.FULL
