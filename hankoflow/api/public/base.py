"""The base of every public API view: no Django auth or CSRF, JSON only, Hanko's error body."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpResponse, JsonResponse
from rest_framework.exceptions import APIException
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView, exception_handler, set_rollback

from hankoflow.http import availability
from hankoflow.http.request_ids import RequestIdMixin


class JSONOnly(BaseContentNegotiation):
    """Always answer JSON: Hanko's SDK parses every body, whatever ``Accept`` says."""

    def select_parser(self, request: Any, parsers: list[Any]) -> Any:
        return parsers[0] if parsers else None

    def select_renderer(self, request: Any, renderers: list[Any], format_suffix: Any = None) -> Any:
        return renderers[0], renderers[0].media_type


def error_response(status: int) -> JsonResponse:
    """Hanko's body for a non-flow error: ``{"code": <status>, "message": <reason>}``."""
    return JsonResponse({"code": status, "message": HTTPStatus(status).phrase}, status=status)


def early_exception_response(exc: Exception) -> HttpResponse | None:
    """The answer to an outage or an oversized body, alike on every public view; else None."""
    if availability.is_outage(exc):
        # Hanko: 500. A 503 with Retry-After tells clients and load balancers to retry.
        set_rollback()
        return availability.unavailable_response()
    if isinstance(exc, RequestDataTooBig):
        # Over DATA_UPLOAD_MAX_MEMORY_SIZE: Django alone would answer an HTML 400 (IN-02).
        return error_response(413)
    return None


def hanko_exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponse | None:
    """Non-flow errors as Hanko writes them: ``{"code": <status>, "message": <reason>}``."""
    early = early_exception_response(exc)
    if early is not None:
        return early
    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, APIException):
        return response
    answer = error_response(response.status_code)
    for header in ("Allow", "Retry-After"):
        if header in response:
            answer[header] = response[header]
    return answer


class PublicView(RequestIdMixin, APIView):
    """Public endpoints authenticate in their own way (the flow's CSRF token, later sessions).
    Each answer carries ``X-Request-ID`` and log lines the request id (``RequestIdMixin``)."""

    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    content_negotiation_class = JSONOnly

    def get_exception_handler(self) -> Any:
        return hanko_exception_handler

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """An ``OPTIONS`` that is not a CORS preflight (the middleware answers those)."""
        # Like Hanko, whose CORS middleware answers every OPTIONS with an empty 204. DRF would
        # send the view's name and docstring; DRF adds ``Allow`` to this response.
        return Response(status=204)
