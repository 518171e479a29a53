"""``POST /flow/execute``: the Flow Execution API, a second wire dialect (docs/flow-execution.md).

It runs the same flows as the Hanko dialect through the same runner; only the request and the
answer differ. ``{"flowType"}`` starts a flow, ``{"flowId", "actionId", "inputs"}`` runs a step.
The engine's per-step CSRF token travels inside the opaque ``flowId``
(``<flow uuid>.<step token>``), so every answer carries a new ``flowId`` and an old one is refused
as stale: the engine's checks (secret first, then expiry, then the action) stay exactly as they
are for the Hanko dialect. Request-level refusals are checked here first, so each has its own
code, and never reach the engine.
"""

from __future__ import annotations

import base64
import hmac
import re
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from rest_framework.request import Request

from hankoflow import clock, errors, names
from hankoflow.api.public.base import PublicView
from hankoflow.api.request_body import BodyError, _parse, _read
from hankoflow.conf import settings
from hankoflow.emails import language_for
from hankoflow.engine import FlowRecord, FlowResult
from hankoflow.engine.tokens import hash_token
from hankoflow.flows.registry import FLOWS
from hankoflow.http import runner
from hankoflow.http.request import request_env
from hankoflow.http.sessions import deliver
from hankoflow.models import Account
from hankoflow.renderers import flow_execution as dialect
from hankoflow.renderers.flow_execution import DialectError
from hankoflow.services import user_assertions
from hankoflow.services.flow_store import configured_store

# flowType -> the flow that serves it; a type whose flow is not installed is disabled.
FLOW_TYPES = {
    "REGISTRATION": names.FLOW_REGISTRATION,
    "PASSWORD_RECOVERY": names.FLOW_PASSWORD_RECOVERY,
    "INVITED_USER_REGISTRATION": names.FLOW_INVITED_REGISTRATION,
}
FLOW_ID = re.compile(
    r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([0-9A-Za-z]{32})"
)


def available(flow_type: str) -> bool:
    """Enabled in ``FLOW_EXECUTION.FLOW_TYPES`` and its flow is installed."""
    return flow_type in settings.FLOW_EXECUTION.FLOW_TYPES and FLOW_TYPES[flow_type] in FLOWS


def flow_type_of(flow_name: str) -> str | None:
    return next((kind for kind, name in FLOW_TYPES.items() if name == flow_name), None)


class FlowExecutionView(PublicView):
    parser_classes: list[Any] = []  # the body is read strictly, as the Hanko dialect reads it

    def post(self, request: Request) -> HttpResponse:
        django_request = request._request
        chosen = django_request.headers.get("X-Language") or django_request.headers.get(
            "Accept-Language", ""
        )
        language = language_for(chosen)
        with translation.override(language):
            response = answer(django_request)
        response["Content-Language"] = language
        patch_vary_headers(response, ("Accept-Language", "X-Language"))
        return response


def answer(request: HttpRequest) -> HttpResponse:
    if not settings.FLOW_EXECUTION.ENABLED:
        return refuse(dialect.DISABLED)
    try:
        document = read_document(request)
    except BodyError as refusal:
        # 400, or 413/415 as the Hanko dialect answers a body too large or not JSON.
        error = dialect.INVALID_REQUEST
        return refuse(DialectError(error.code, error.message, refusal.error.status))
    return dispatch(request, document)


def dispatch(request: HttpRequest, document: dict[str, Any]) -> HttpResponse:
    """Start or continue a flow from a parsed request document (the page calls this too)."""
    if "flowId" in document:
        return execute(request, document)
    if "flowType" in document:
        return start(request, document.get("flowType"))
    return refuse(dialect.INVALID_REQUEST)


def read_document(request: HttpRequest) -> dict[str, Any]:
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    raw = _read(request, settings.FLOW.MAX_BODY_SIZE)
    if not raw.strip():
        raise BodyError(errors.REQUEST_MALFORMED)
    if content_type != "application/json":
        raise BodyError(errors.UNSUPPORTED_MEDIA_TYPE)
    document = _parse(raw)
    if not isinstance(document, dict):
        raise BodyError(errors.REQUEST_MALFORMED)
    return document


def start(request: HttpRequest, flow_type: Any) -> HttpResponse:
    if not isinstance(flow_type, str) or flow_type not in FLOW_TYPES:
        return refuse(dialect.UNKNOWN_FLOW_TYPE)
    if not available(flow_type):
        return refuse(dialect.FLOW_TYPE_DISABLED, flowType=flow_type)
    result = runner.run(request, FLOW_TYPES[flow_type], None)
    return respond(result, flow_type)


def execute(request: HttpRequest, document: dict[str, Any]) -> HttpResponse:
    handle, action_id, inputs = (document.get(k) for k in ("flowId", "actionId", "inputs"))
    if (action_id is not None and not isinstance(action_id, str)) or (
        inputs is not None and not isinstance(inputs, dict)
    ):
        return refuse(dialect.INVALID_REQUEST)
    matched = FLOW_ID.fullmatch(handle) if isinstance(handle, str) else None
    if matched is None:
        return refuse(dialect.INVALID_FLOW_ID)
    flow_id, token = matched.groups()
    row = peek(flow_id) or unstored(flow_id, token)
    flow_type = flow_type_of(row["name"]) if row else None
    if row is None or flow_type is None:
        return refuse(dialect.INVALID_FLOW_ID)
    # The secret first, as the engine checks it (security-checks FL-04).
    if not hmac.compare_digest(hash_token(token), row["csrf_token_hash"]):
        return refuse(dialect.STALE_FLOW_ID, flowType=flow_type)
    if not available(flow_type):
        return refuse(dialect.FLOW_TYPE_DISABLED, flowType=flow_type)
    if clock.now() >= row["expires_at"]:
        return refuse(dialect.FLOW_EXPIRED, flowType=flow_type)
    try:
        offered = [action.name for action in FLOWS[row["name"]].state(row["state"]).actions]
    except LookupError:  # a state this release no longer declares: the flow cannot go on
        return refuse(dialect.INVALID_FLOW_ID)
    action_id = action_id or dialect.prompt_action(offered)
    if not action_id:
        return refuse(dialect.ACTION_ID_REQUIRED, flowType=flow_type)
    if action_id not in offered:
        return refuse(dialect.INVALID_ACTION_ID, flowType=flow_type)
    inputs = decode_credentials(action_id, inputs or {})
    result = runner.run(request, row["name"], f"{action_id}@{flow_id}", inputs, token)
    if result.error == errors.OPERATION_NOT_PERMITTED and result.is_early_error:
        # Our checks passed, so either a concurrent step rotated the token meanwhile or the
        # action is not offered to this flow right now (suspended).
        again = peek(flow_id) or unstored(flow_id, token)
        if again is None or again["csrf_token_hash"] != row["csrf_token_hash"]:
            return refuse(dialect.STALE_FLOW_ID, flowType=flow_type)
        return refuse(dialect.INVALID_ACTION_ID, flowType=flow_type)
    if result.error == errors.FLOW_EXPIRED and result.is_early_error:
        return refuse(dialect.FLOW_EXPIRED, flowType=flow_type)
    return respond(result, flow_type)


def decode_credentials(action_id: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """A WebAuthn credential may come as the seed sends it, base64url-encoded JSON; the engine
    takes the JSON object. Anything that does not decode is passed on for the action to refuse."""
    if action_id not in dialect.WEBAUTHN_ACTIONS:
        return inputs
    decoded = dict(inputs)
    for key, value in inputs.items():
        if not isinstance(value, str):
            continue
        try:
            document = _parse(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        except (ValueError, BodyError):
            continue
        if isinstance(document, dict):
            decoded[key] = document
    return decoded


def peek(flow_id: str) -> dict[str, Any] | None:
    """The stored flow's name, state, token digest and expiry, read without a lock."""
    record = configured_store().peek(flow_id)
    return _row(record) if record is not None else None


def unstored(flow_id: str, token: str) -> dict[str, Any] | None:
    """``peek`` for a flow started without storing it, when ``token`` is its start token."""
    for flow_name in FLOW_TYPES.values():
        record = runner.engine_for(flow_name).unstored(flow_id, token)
        if record is not None:
            return _row(record)
    return None


def _row(record: FlowRecord) -> dict[str, Any]:
    return {
        "name": record.flow_name,
        "state": record.stash.state,
        "csrf_token_hash": record.csrf_token_hash,
        "expires_at": record.expires_at,
    }


def respond(result: FlowResult, flow_type: str) -> HttpResponse:
    """A step object, or the refusal of an early error (503, 500), with the step's effects."""
    if result.is_early_error:
        body = dialect.render_refusal(result.error or errors.TECHNICAL, flowType=flow_type)
    else:
        handle = f"{result.flow_id}.{result.csrf_token}"
        body = dialect.render(result, flow_type=flow_type, flow_id=handle)
        assertion = user_assertion(result, flow_type)
        if assertion:
            body["data"]["userAssertion"] = assertion
    response = runner.json_response(body, result.status)
    for effect in result.effects:
        effect.apply_to(response)
    return response


def user_assertion(result: FlowResult, flow_type: str) -> str | None:
    """With ``AUTO_LOGIN``, a flow that completed by signing the person in (its session claims
    in the payload) also answers a user assertion."""
    claims = (result.payload or {}).get("claims")
    if not (settings.FLOW_EXECUTION.AUTO_LOGIN and claims and dialect.is_complete(result)):
        return None
    account = Account.objects.filter(pk=claims["subject"]).first()
    if account is None:
        return None
    return user_assertions.issue(account, amr=claims.get("amr") or [], flow_type=flow_type)


class UserAssertionView(PublicView):
    """``POST /flow/assertion`` ``{"userAssertion"}``: redeem it once for a session, which comes
    as the flows hand sessions out (the cookie, or ``X-Auth-Token``)."""

    parser_classes: list[Any] = []

    def post(self, request: Request) -> HttpResponse:
        django_request = request._request
        if not (settings.FLOW_EXECUTION.ENABLED and settings.FLOW_EXECUTION.AUTO_LOGIN):
            return refuse(dialect.DISABLED)
        try:
            document = read_document(django_request)
        except BodyError as refusal:
            error = dialect.INVALID_REQUEST
            return refuse(DialectError(error.code, error.message, refusal.error.status))
        try:
            issued = user_assertions.redeem(
                document.get("userAssertion"), env=request_env(django_request)
            )
        except user_assertions.AssertionInvalid:
            return refuse(dialect.INVALID_USER_ASSERTION)
        body = {"userId": issued.claims["subject"], "sessionId": issued.session_id}
        response = runner.json_response(body, 200)
        for effect in deliver(issued.effects):
            effect.apply_to(response)
        return response


def refuse(error: DialectError, **known: Any) -> HttpResponse:
    return runner.json_response(dialect.render_refusal(error, **known), error.status)
