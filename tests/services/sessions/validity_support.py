"""Helpers for the session-validity cache tests: a shared cache inside one interpreter, the
settings that point hankoflow at it, and views that read ``request.user``."""

from __future__ import annotations

import copy
from typing import Any

from django.conf import settings as django_settings
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.http import HttpRequest, JsonResponse
from django.test import override_settings
from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from hankoflow.api.authentication import HankoSessionAuthentication

BACKEND = "tests.services.sessions.validity_support.InProcessSharedCache"
ALIAS = "shared"


class InProcessSharedCache(BaseCache):
    """Stands for Redis inside one interpreter: one store for every "process" (every instance
    and thread), with an atomic ``add``; records the calls made (``calls``)."""

    store = LocMemCache("hankoflow-validity-tests", {})
    calls: list[str] = []
    down = False

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)

    def _call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        InProcessSharedCache.calls.append(name)
        if InProcessSharedCache.down:
            raise ConnectionError("cache down")
        return getattr(self.store, name)(*args, **kwargs)

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        return self._call("get", key, default, version)

    def get_many(self, keys: Any, version: Any = None) -> Any:
        return self._call("get_many", keys, version)

    def add(self, key: Any, value: Any, timeout: Any = 300, version: Any = None) -> Any:
        return self._call("add", key, value, timeout, version)

    def set(self, key: Any, value: Any, timeout: Any = 300, version: Any = None) -> Any:
        return self._call("set", key, value, timeout, version)

    def delete(self, key: Any, version: Any = None) -> Any:
        return self._call("delete", key, version)

    def clear(self) -> None:
        self.store.clear()

    @classmethod
    def reset(cls) -> None:
        cls.store.clear()
        cls.calls.clear()
        cls.down = False


def hankoflow_settings(**session: Any) -> dict[str, Any]:
    """The suite's ``HANKOFLOW`` with ``SESSION`` values changed and the shared alias."""
    values = copy.deepcopy(getattr(django_settings, "HANKOFLOW", {}))
    values.setdefault("SESSION", {}).update(session)
    values.setdefault("RATE_LIMITER", {})["CACHE"] = ALIAS
    return values


def cache_settings(
    backend: str = BACKEND, location: str = "validity", **session: Any
) -> override_settings:
    """Point ``RATE_LIMITER.CACHE`` at a cache of ``backend``, with ``SESSION`` values."""
    caches = {**django_settings.CACHES, ALIAS: {"BACKEND": backend, "LOCATION": location}}
    return override_settings(CACHES=caches, HANKOFLOW=hankoflow_settings(**session))


def who(request: HttpRequest) -> JsonResponse:
    """``request.user`` and ``request.auth`` as the middleware made them."""
    user = request.user
    claims = request.auth  # type: ignore[attr-defined]
    return JsonResponse(
        {"user": user.pk if user.is_authenticated else None, "sub": claims.get("sub")}
    )


class DrfWho(APIView):
    authentication_classes = [HankoSessionAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response({"user": request.user.pk, "sub": request.auth.get("sub")})


def _urlpatterns() -> list[Any]:
    from project.urls import urlpatterns

    return [path("who", who), path("drf-who", DrfWho.as_view()), *urlpatterns]


urlpatterns = _urlpatterns()
