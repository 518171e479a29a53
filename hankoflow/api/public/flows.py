"""``POST /login``, ``/registration``, ``/profile``, ``/token_exchange`` (flow-api.md §1).

An empty ``action`` query parameter starts a flow (the body is not read); otherwise the JSON body
``{input_data, csrf_token}`` executes the named action. Every answer, errors included, is a
Flow API state object, because Hanko's SDK parses every response body as one.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from rest_framework.request import Request

from hankoflow.api.public.base import PublicView
from hankoflow.api.request_body import BodyError, read_action_body
from hankoflow.conf import settings
from hankoflow.http import runner


class FlowView(PublicView):
    """One flow endpoint; ``flow_name`` is set per route."""

    flow_name: str = ""
    parser_classes: list[Any] = []  # the body is read strictly by read_action_body

    def post(self, request: Request) -> HttpResponse:
        django_request = request._request
        action = request.query_params.get("action", "")
        if not action:
            return runner.respond(runner.run(django_request, self.flow_name, None))
        try:
            body = read_action_body(django_request, settings.FLOW.MAX_BODY_SIZE)
        except BodyError as refusal:
            engine = runner.engine_for(self.flow_name)
            return runner.respond(engine.early_error(refusal.error))
        result = runner.run(
            django_request, self.flow_name, action, body.input_data, body.csrf_token
        )
        return runner.respond(result)
