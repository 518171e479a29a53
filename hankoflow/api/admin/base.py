"""The base of every admin API view: an API key, its rate limit, JSON in and out, Hanko's error
body ``{"code", "message"}``.

``HankoError(status, message)`` answers with Hanko's exact message (``"user not found"``);
other DRF errors answer the status's reason phrase. ``env(request)`` is the request's facts for
audit entries, ``actor(request)`` the audit details naming the API key.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.http import HttpResponse, JsonResponse
from rest_framework.exceptions import APIException
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from hankoflow.api.admin.authentication import ApiKeyAuthentication, KeyScope
from hankoflow.api.public.base import PublicView, hanko_exception_handler
from hankoflow.http.request import RequestEnv, request_env
from hankoflow.models import ApiKey
from hankoflow.services import api_keys, ratelimit


class HankoError(APIException):
    """An answer ``{"code": status, "message": message}`` with Hanko's own message."""

    def __init__(self, status: int, message: str | None = None) -> None:
        self.status_code = status
        super().__init__(message or HTTPStatus(status).phrase)


def admin_exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse | None:
    if isinstance(exc, HankoError):
        return JsonResponse(
            {"code": exc.status_code, "message": str(exc.detail)}, status=exc.status_code
        )
    return hanko_exception_handler(exc, context)


class ApiKeyRateLimit(BaseThrottle):
    """``ADMIN_API.RATE_LIMIT`` requests per key (``ratelimit.Bucket.ADMIN_API``); 429 with
    ``Retry-After`` beyond it."""

    def allow_request(self, request: Request, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return True  # authentication answered already
        decision = ratelimit.take(ratelimit.Bucket.ADMIN_API, ratelimit.api_key_key(str(key.pk)))
        self.retry_after = decision.retry_after
        return decision.allowed

    def wait(self) -> float | None:
        return max(1, getattr(self, "retry_after", 1))


class AdminView(PublicView):
    """``request.auth`` is the caller's ``ApiKey``; errors are ``{"code", "message"}``."""

    authentication_classes: list[Any] = [ApiKeyAuthentication]
    permission_classes: list[Any] = [KeyScope]
    throttle_classes: list[Any] = [ApiKeyRateLimit]
    parser_classes: list[Any] = [JSONParser]  # every body is read as JSON (JSONOnly)

    def get_exception_handler(self) -> Any:
        return admin_exception_handler

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        # PostgreSQL refuses NUL in text: a filter holding one would fail its query (a 500).
        if any("\x00" in key + "".join(values) for key, values in request.query_params.lists()):
            raise HankoError(400, "query parameters must not contain NUL")


def env(request: Request) -> RequestEnv:
    """The request's facts (IP, user agent, request id) for audit entries."""
    return request_env(request._request)


def actor(request: Request, **details: Any) -> dict[str, Any]:
    """Audit details of a change made with the request's API key, plus ``details``."""
    return {**details, **api_keys.actor_details(request.auth)}
