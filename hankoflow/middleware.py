"""The one middleware a project adds: Hanko's CORS rules and session authentication.

CORS: it extends django-cors-headers' ``CorsMiddleware``: requests from an origin listed in
``HANKOFLOW["CORS"]["ALLOW_ORIGINS"]`` get Hanko's answers (credentials allowed, the
``X-Session-*`` headers exposed, preflights echoing the requested headers, flow-api.md §1.5.3);
any other origin falls through to django-cors-headers' own ``CORS_*`` settings, so a project that
already uses it keeps its configuration for everything else.

Sessions (platform.md §2.4): a valid Hanko session token (``Authorization: Bearer`` or the
session cookie) makes its user ``request.user`` and its claims ``request.auth``, lazily
(``hankoflow.auth.install``). This happens in ``process_view``, which Django runs after every
middleware's request phase, so the middleware works at any position: first in ``MIDDLEWARE``
(best for CORS, so that preflights and early responses get their headers) or after
``AuthenticationMiddleware``, where it also installs the user before the middlewares below it
run.
"""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache
from typing import Any

from corsheaders.middleware import CorsMiddleware
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.cache import patch_vary_headers

from hankoflow import auth
from hankoflow.conf import settings

EXPOSED = [
    "Retry-After",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-Session-Lifetime",
    "X-Session-Retention",
    "X-Request-ID",  # not Hanko's: lets a frontend quote the id support finds in the logs
]
ALLOWED_METHODS = "GET,POST,PUT,PATCH,DELETE,OPTIONS"
PREFLIGHT_MAX_AGE = "7200"
# What a preflight may ask for when the browser sends no Access-Control-Request-Headers.
DEFAULT_ALLOWED_HEADERS = "content-type,x-language,authorization,accept"


@lru_cache(maxsize=16)
def _origin_patterns(origins: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    # Hanko's wildcards: ``*`` any run of characters, ``?`` one; nothing else is special.
    return tuple(
        re.compile(fnmatch.translate(origin.replace("[", "[[]")), re.IGNORECASE)
        for origin in origins
    )


def origin_allowed(origin: str) -> bool:
    if not origin or origin == "null":
        return False
    patterns = _origin_patterns(tuple(settings.CORS.ALLOW_ORIGINS))
    return any(pattern.match(origin) for pattern in patterns)


class HankoflowMiddleware(CorsMiddleware):
    def __call__(self, request: HttpRequest) -> Any:
        if hasattr(request, "user"):  # placed after AuthenticationMiddleware
            auth.install(request)
        return super().__call__(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> None:
        auth.install(request)
        return None

    def check_preflight(self, request: HttpRequest) -> HttpResponseBase | None:
        # request.META, not request.headers: every request passes here, and building
        # request.headers costs more than these checks.
        meta = request.META
        if not origin_allowed(meta.get("HTTP_ORIGIN", "")):
            return super().check_preflight(request)
        if request.method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in meta:
            return HttpResponse(status=204)
        return None

    def add_response_headers(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        meta = request.META
        origin = meta.get("HTTP_ORIGIN", "")
        if not origin:
            # What django-cors-headers does for a request without Origin (Vary: origin when
            # CORS is on for the path), without building request.headers.
            enabled = getattr(request, "_cors_enabled", None)
            if enabled is None:
                enabled = self.is_enabled(request)
            if enabled:
                patch_vary_headers(response, ("origin",))
            return response
        if not origin_allowed(origin):
            return super().add_response_headers(request, response)
        patch_vary_headers(response, ("Origin",))
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Credentials"] = "true"
        exposed = list(EXPOSED)
        if settings.SESSION.ENABLE_AUTH_TOKEN_HEADER:
            exposed.append("X-Auth-Token")
        response["Access-Control-Expose-Headers"] = ", ".join(exposed)
        if request.method == "OPTIONS":
            requested = meta.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "")
            response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response["Access-Control-Allow-Headers"] = requested or DEFAULT_ALLOWED_HEADERS
            response["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
        return response
