"""``POST /login``, ``/registration``, ``/profile``, ``/token_exchange`` (flow-api.md §1).

An empty ``action`` query parameter starts a flow (the body is not read); otherwise the JSON body
``{input_data, csrf_token}`` executes the named action. Every answer, errors included, is a
Flow API state object, because Hanko's SDK parses every response body as one.

A plain Django view, not a DRF one: it parses its own body and has no authentication,
permissions or content negotiation, and DRF's request wrapping cost more than a light step's
Python (a login is five of these requests). It answers what the DRF view did: ``Allow`` and
``Vary: Accept`` on every answer, an empty 204 for ``OPTIONS``, Hanko's ``{"code", "message"}``
body for a 405, an outage (503) or an oversized body (413), and ``X-Request-ID``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils.cache import patch_vary_headers
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from hankoflow.api.public.base import early_exception_response, error_response
from hankoflow.api.request_body import BodyError, read_action_body
from hankoflow.conf import settings
from hankoflow.http import request_ids, runner

ALLOW = "POST, OPTIONS"


class FlowView(View):
    """One flow endpoint; ``flow_name`` is set per route."""

    flow_name: str = ""
    http_method_names = ["post", "options"]

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        # The flow's CSRF token protects it, not Django's (as DRF's views are exempt).
        return csrf_exempt(super().as_view(**initkwargs))

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = request_ids.answered(self.answer, request)
        patch_vary_headers(response, ("Accept",))
        response["Allow"] = ALLOW
        return response

    def answer(self, request: HttpRequest) -> HttpResponseBase:
        try:
            return self.route(request)
        except Exception as exc:
            early = early_exception_response(exc)
            if early is None:
                raise
            return early

    def route(self, request: HttpRequest) -> HttpResponseBase:
        method = request.method
        if method == "POST":
            return self.post(request)
        if method == "OPTIONS":
            # Like Hanko, whose CORS middleware answers every OPTIONS with an empty 204.
            response = HttpResponse(status=204)
            del response["Content-Type"]
            return response
        return error_response(405)

    def post(self, request: HttpRequest) -> HttpResponse:
        action = request.GET.get("action", "")
        if not action:
            return runner.respond(runner.run(request, self.flow_name, None))
        try:
            body = read_action_body(request, settings.FLOW.MAX_BODY_SIZE)
        except BodyError as refusal:
            engine = runner.engine_for(self.flow_name)
            return runner.respond(engine.early_error(refusal.error))
        result = runner.run(request, self.flow_name, action, body.input_data, body.csrf_token)
        return runner.respond(result)
