"""Runs one Flow API request against the engine; shared by the JSON API and the HTML page.

It owns the Django side of a step: which flow, the checks Hanko makes before the engine runs
(the session for ``profile``, which actions then find as ``ctx.env.session``; SAML for
``token_exchange``), the request facts handed to actions, the
store, and turning a ``FlowResult`` into an HTTP response with its cookies and headers.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse

from hankoflow import clock, errors, names
from hankoflow.conf import settings
from hankoflow.engine import FlowEngine, FlowResult
from hankoflow.flows.registry import FLOWS
from hankoflow.http import availability, log_context
from hankoflow.http.request import request_env
from hankoflow.http.sessions import DeleteSessionCookie, deliver, session_for_request
from hankoflow.renderers import hanko
from hankoflow.services import audit, crypto, flow_store, metrics
from hankoflow.services.flow_store import configured_store
from hankoflow.services.thirdparty import providers as thirdparty_providers

# The HKDF label of the key that makes and checks start tokens (engine/unstored_start.py).
START_TOKEN_PURPOSE = "flow start"  # noqa: S105  (an HKDF label, not a secret)


def engine_for(flow_name: str) -> FlowEngine:
    definition = FLOWS[flow_name]
    # token_exchange keeps Hanko's fixed 60 minutes; FLOW.TTL sets the other flows.
    ttl = None if flow_name == names.FLOW_TOKEN_EXCHANGE else settings.FLOW.TTL
    # Unless FLOW.STORE_AT_START: a start that changes nothing is stored at the first action.
    keys = () if settings.FLOW.STORE_AT_START else crypto.mac_keys(START_TOKEN_PURPOSE)
    return FlowEngine(
        definition, configured_store(), ttl_seconds=ttl, now=clock.now, start_keys=keys
    )


def gatekeeper_error(flow_name: str, request: HttpRequest) -> errors.FlowError | None:
    """Refusals Hanko makes before a flow is created or advanced (flow-api.md §1.8 step 0)."""
    # Hanko v3: 403 unless SAML is on (v2.7.0 always ran it). One-time tokens come from OAuth
    # providers too, so here the flow runs when SAML or any third-party provider is enabled.
    if flow_name == names.FLOW_TOKEN_EXCHANGE and not (
        settings.SAML.ENABLED or thirdparty_providers.enabled()
    ):
        return errors.FORBIDDEN
    return None


def run(
    request: HttpRequest,
    flow_name: str,
    action: str | None,
    input_data: dict[str, Any] | None = None,
    csrf_token: str = "",
) -> FlowResult:
    """Start ``flow_name`` (no ``action``) or execute ``action`` on one of its flows."""
    started = time.perf_counter()
    with log_context.bound(audit.request_id(request), log_context.flow_id_of(action)):
        result = _run(request, flow_name, action, input_data, csrf_token)
    if metrics.enabled():
        outcome = result.error.code if result.error else metrics.OK
        labels = metrics.step_labels(FLOWS, flow_name, action, result.state, outcome)
        metrics.record_step(*labels, seconds=time.perf_counter() - started)
    return result


def _run(
    request: HttpRequest,
    flow_name: str,
    action: str | None,
    input_data: dict[str, Any] | None,
    csrf_token: str,
) -> FlowResult:
    engine = engine_for(flow_name)
    refusal = gatekeeper_error(flow_name, request)
    if refusal is not None:
        return engine.early_error(refusal)
    # Flows in Redis: a step that needs no table must not wait for a database connection (under
    # CONN_HEALTH_CHECKS, a poll or a SELECT 1); one that does answers 503 when its query fails.
    needs_database = flow_store.in_database() or flow_name == names.FLOW_PROFILE
    if needs_database and not availability.database_connects():
        return unavailable(engine)
    session = None
    if flow_name == names.FLOW_PROFILE:
        # Every profile request, the first one too, needs a valid session (flow-api.md §1.4.3).
        session = session_for_request(request)
        if session is None:
            return unauthorized(engine, request)
    env = request_env(request, session=session)
    facts = {"language": env.language} if env.language else {}
    if not action:
        result = engine.start(env, facts)
    else:
        result = engine.execute(action, input_data or {}, csrf_token, env, facts)
    if result.error == errors.TECHNICAL and not availability.database_reachable():
        return unavailable(engine)  # the connection was lost during the step
    return dataclasses.replace(result, effects=deliver(result.effects))


def unauthorized(engine: FlowEngine, request: HttpRequest) -> FlowResult:
    """No valid session for the profile flow: 401 ``unauthorized``; a session cookie that
    failed to validate is deleted, so the browser stops sending it."""
    result = engine.early_error(errors.UNAUTHORIZED)
    if settings.SESSION.COOKIE.NAME in request.COOKIES:
        return dataclasses.replace(result, effects=(DeleteSessionCookie.from_settings(),))
    return result


def unavailable(engine: FlowEngine) -> FlowResult:
    """The database cannot be reached: an early error with ``Retry-After``."""
    # Hanko: 500 technical_error. A 503 tells clients and load balancers to retry.
    result = engine.early_error(errors.SERVICE_UNAVAILABLE)
    return dataclasses.replace(result, effects=(availability.RetryAfter(),))


def respond(result: FlowResult) -> HttpResponse:
    """The JSON response for a result: status mirrors the body, effects set cookies/headers."""
    response = json_response(hanko.render(result, debug=settings.DEBUG), result.status)
    for effect in result.effects:
        effect.apply_to(response)
    return response


# One encoder for every answer (JsonResponse builds one per call); encode() keeps no state.
_ENCODER = DjangoJSONEncoder(separators=(",", ":"))


def json_response(body: dict[str, Any], status: int) -> HttpResponse:
    response = HttpResponse(_ENCODER.encode(body), content_type="application/json", status=status)
    response["Cache-Control"] = "no-store"
    return response
