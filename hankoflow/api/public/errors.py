"""JSON answers for Django's 404 and 500 handlers, in Hanko's non-flow error shape.

A project points ``handler404``/``handler500`` here so an unknown path (``POST /signin``) or a
crash never answers an API client with an HTML page; a crash because the database cannot be
reached answers 503 with ``Retry-After``.
"""

from __future__ import annotations

import sys
from typing import Any

from django.http import HttpRequest, JsonResponse

from hankoflow.http import availability


def not_found(request: HttpRequest, exception: Any = None) -> JsonResponse:
    return JsonResponse({"code": 404, "message": "Not Found"}, status=404)


def server_error(request: HttpRequest) -> JsonResponse:
    # Django calls this while handling the exception, so exc_info() holds the cause.
    if availability.is_outage(sys.exc_info()[1]):
        return availability.unavailable_response()
    return JsonResponse({"code": 500, "message": "Internal Server Error"}, status=500)
