"""The Flow Execution API's step object (docs/flow-execution.md), rendered from a ``FlowResult``.

The engine's states become the dialect's four response types: a state with a WebAuthn ceremony
waiting (``creation_options``/``request_options`` in the payload) is ``WEBAUTHN``; one with a
provider's ``redirect_url`` is ``REDIRECTION``; one whose only prompt asks for hidden inputs (the
client's capabilities on ``preflight``) is ``INTERNAL_PROMPT``; any other state is a ``VIEW`` whose
actions are forms and buttons. ``success`` is ``COMPLETE``. Words come from ``hankoflow.wording``
(the flow page's words) in the active language; the view activates it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hankoflow import names
from hankoflow import wording as texts
from hankoflow.engine import Back, FlowResult, Input, Skip
from hankoflow.engine import inputs as i
from hankoflow.engine.inputs import MISSING
from hankoflow.errors import FlowError, InputError
from hankoflow.wording import Text

VIEW = "VIEW"
REDIRECTION = "REDIRECTION"
WEBAUTHN = "WEBAUTHN"
INTERNAL_PROMPT = "INTERNAL_PROMPT"
INCOMPLETE = "INCOMPLETE"
COMPLETE = "COMPLETE"

# Actions that answer a prompt the client handles without the person typing anything: their
# step is not a VIEW, and a request that leaves out ``actionId`` on such a step means them.
PROMPT_ACTIONS = (
    names.ACTION_REGISTER_CLIENT_CAPABILITIES,
    names.ACTION_WEBAUTHN_VERIFY_ATTESTATION_RESPONSE,
    names.ACTION_WEBAUTHN_VERIFY_ASSERTION_RESPONSE,
    names.ACTION_EXCHANGE_TOKEN,
)
WEBAUTHN_ACTIONS = (
    names.ACTION_WEBAUTHN_VERIFY_ATTESTATION_RESPONSE,
    names.ACTION_WEBAUTHN_VERIFY_ASSERTION_RESPONSE,
)
WEBAUTHN_OPTIONS = {"creation_options": "create", "request_options": "get"}
# Payload keys a step renders itself; the rest is passed on as ``data.additionalData``.
RENDERED_PAYLOAD = {*WEBAUTHN_OPTIONS, "redirect_url", "otp_secret", "otp_image_source"}
SUCCESS_PAYLOAD = {"user", "claims", "last_login"}  # Hanko's success payload: not in this dialect
MINOR_ACTIONS = (Back.name, Skip.name)
# States whose ``code``/``otp_code`` is a one-time code (an invitation's code is plain text).
OTP_STATES = (
    names.STATE_PASSCODE_CONFIRMATION,
    names.STATE_LOGIN_OTP,
    names.STATE_MFA_OTP_SECRET_CREATION,
)


@dataclass(frozen=True)
class DialectError:
    """A request-level refusal of this dialect: nothing about a flow step was run."""

    code: str
    message: str
    status: int


# The dialect's own codes (docs/flow-execution.md, "Errors"); step errors keep the engine's codes.
INVALID_REQUEST = DialectError("invalid_request", "The request body is not valid.", 400)
UNKNOWN_FLOW_TYPE = DialectError("unknown_flow_type", "This flowType does not exist.", 400)
FLOW_TYPE_DISABLED = DialectError(
    "flow_type_disabled", "This flowType is not enabled on this server.", 403
)
INVALID_FLOW_ID = DialectError("invalid_flow_id", "No flow has this flowId.", 404)
STALE_FLOW_ID = DialectError(
    "stale_flow_id",
    "This flowId was already used for a step: send the flowId of the latest response.",
    409,
)
FLOW_EXPIRED = DialectError("flow_expired", "The flow has expired. Start a new one.", 410)
ACTION_ID_REQUIRED = DialectError("action_id_required", "This step needs an actionId.", 400)
INVALID_ACTION_ID = DialectError(
    "invalid_action_id", "This actionId is not available at the flow's current step.", 400
)
DISABLED = DialectError("not_found", "The Flow Execution API is not enabled.", 404)
INVALID_USER_ASSERTION = DialectError(
    "invalid_user_assertion", "The user assertion is invalid, expired or already used.", 401
)


def render(result: FlowResult, *, flow_type: str, flow_id: str) -> dict[str, Any]:
    """The step object of a flow's state (not of an early error: see ``render_refusal``)."""
    complete = is_complete(result)
    kind, data = _step(result)
    body: dict[str, Any] = {
        "flowId": flow_id,
        "flowType": flow_type,
        "flowStatus": COMPLETE if complete else INCOMPLETE,
        "type": kind,
        "data": data,
    }
    if result.error is not None:
        body["error"] = render_error(result.error, result.actions)
    return body


def is_complete(result: FlowResult) -> bool:
    """``success``, or another final state: nothing left to do and not the error state (the
    recovery flow's ``password_changed``)."""
    final = not result.actions and result.state != names.STATE_ERROR
    return result.state == names.STATE_SUCCESS or final


def render_refusal(error: DialectError | FlowError, **known: Any) -> dict[str, Any]:
    """A refusal with no step: ``{"error": {code, message}}``, with any ``flowId``/``flowType``
    the request already settled."""
    message = texts.error_sentence(error.code) or error.message
    return {**known, "error": {"code": error.code, "message": str(message)}}


def prompt_action(action_names: list[str]) -> str | None:
    """The prompt action among a state's actions (see ``PROMPT_ACTIONS``)."""
    return next((name for name in action_names if name in PROMPT_ACTIONS), None)


# --- the four types --------------------------------------------------------------------------


def _step(result: FlowResult) -> tuple[str, dict[str, Any]]:
    payload = result.payload or {}
    if is_complete(result):
        return VIEW, {}
    prompt = next((a for a in result.actions if a.name in PROMPT_ACTIONS), None)
    others = [a for a in result.actions if prompt is None or a.name != prompt.name]
    if prompt is not None:
        options = next((key for key in WEBAUTHN_OPTIONS if key in payload), None)
        if options is not None:
            return WEBAUTHN, {
                "webAuthn": payload[options],
                "ceremony": WEBAUTHN_OPTIONS[options],
                "actionId": prompt.name,
                "requiredParams": [item.name for item in prompt.inputs if item.type == i.JSON],
                "components": [_button(result.state, a) for a in others],
            }
        if "redirect_url" in payload:
            return REDIRECTION, {
                "url": payload["redirect_url"],
                "actionId": prompt.name,
                "requiredParams": [item.name for item in prompt.inputs if item.required],
                "optionalParams": [item.name for item in prompt.inputs if not item.required],
                "components": [_button(result.state, a) for a in others],
            }
        if prompt.inputs and all(item.hidden for item in prompt.inputs):
            return INTERNAL_PROMPT, {
                "actionId": prompt.name,
                "requiredParams": [item.name for item in prompt.inputs if item.required],
                "optionalParams": [item.name for item in prompt.inputs if not item.required],
            }
    return VIEW, _view(result, payload)


def _view(result: FlowResult, payload: dict[str, Any]) -> dict[str, Any]:
    heading, sentence = texts.state_text(result.flow_name, result.state)
    components: list[dict[str, Any]] = [_typography("heading", "HEADING", heading)]
    if sentence:
        components.append(_typography("text", "BODY", sentence))
    if payload.get("otp_image_source"):
        image = {"src": payload["otp_image_source"], "alt": str(texts.humanize("otp_secret"))}
        components.append({"id": "otp_image", "type": "IMAGE", "config": image})
    if payload.get("otp_secret"):
        components.append(_typography("otp_secret", "CODE", payload["otp_secret"]))
    required: list[str] | None = None
    for action in result.actions:
        visible = [item for item in action.inputs if not item.hidden]
        if not visible:
            components.extend(_buttons(result.state, action))
            continue
        fields = [_input(result.state, item) for item in visible]
        fields.append(_button(result.state, action, variant="PRIMARY"))
        components.append({"id": f"form_{action.name}", "type": "FORM", "components": fields})
        if required is None:  # the first form is the step's main one, as the seed shows it
            required = [item.name for item in action.inputs if item.required]
    data: dict[str, Any] = {"components": components, "requiredParams": required or []}
    extra = {k: v for k, v in payload.items() if k not in RENDERED_PAYLOAD | SUCCESS_PAYLOAD}
    if extra:
        data["additionalData"] = extra
    return data


# --- components ------------------------------------------------------------------------------


def _typography(component_id: str, variant: str, text: Text) -> dict[str, Any]:
    return {
        "id": component_id,
        "type": "TYPOGRAPHY",
        "variant": variant,
        "config": {"text": str(text)},
    }


def _button(state: str, action: Any, variant: str | None = None) -> dict[str, Any]:
    if variant is None:
        variant = "TERTIARY" if action.name in MINOR_ACTIONS else "SECONDARY"
    return {
        "id": f"button_{action.name}",
        "type": "BUTTON",
        "actionId": action.name,
        "variant": variant,
        "config": {"text": str(texts.action_label(state, action.name, action.description))},
    }


def _buttons(state: str, action: Any) -> list[dict[str, Any]]:
    """An action without fields: one button, or one per allowed value of a hidden choice (a
    provider), which the button presets in ``config.params``. Any other required input is the
    app's to send (``config.requiredParams``, e.g. the third-party ``redirect_to``)."""
    choice = next((item for item in action.inputs if item.allowed_values), None)
    others = [item.name for item in action.inputs if item.required and item is not choice]
    if choice is None:
        button = _button(state, action)
        if others:
            button["config"]["requiredParams"] = others
        return [button]
    buttons = []
    for allowed in choice.allowed_values:
        button = _button(state, action)
        button["id"] = f"button_{action.name}_{allowed.value}"
        button["config"] = {"text": str(allowed.name), "params": {choice.name: allowed.value}}
        if others:
            button["config"]["requiredParams"] = others
        buttons.append(button)
    return buttons


def _input(state: str, item: Input) -> dict[str, Any]:
    config: dict[str, Any] = {
        "identifier": item.name,
        "label": str(texts.input_label(item.name, state)),
        "required": bool(item.required),
    }
    if item.min_length is not None:
        config["minLength"] = item.min_length
    if item.max_length is not None:
        config["maxLength"] = item.max_length
    if item.allowed_values:
        config["options"] = [{"value": v.value, "label": v.name} for v in item.allowed_values]
    if item.preserve and item.value is not MISSING and item.value is not None:
        config["value"] = item.value
    rendered: dict[str, Any] = {
        "id": item.name,
        "type": "INPUT",
        "variant": _variant(state, item),
        "config": config,
    }
    if item.error is not None:
        rendered["error"] = _error(item.error, item.name)
    return rendered


def _variant(state: str, item: Input) -> str:
    if item.allowed_values:
        return "SELECT"
    if item.name in ("code", "otp_code") and state in OTP_STATES:
        return "OTP"
    return {
        i.EMAIL: "EMAIL",
        i.PASSWORD: "PASSWORD",
        i.NUMBER: "NUMBER",
        i.BOOLEAN: "CHECKBOX",
    }.get(item.type, "TEXT")


# --- errors ----------------------------------------------------------------------------------


def render_error(error: FlowError, actions: tuple[Any, ...] = ()) -> dict[str, Any]:
    """A step's error; ``params`` names each input the client sent wrong, with its own error."""
    rendered: dict[str, Any] = _error(error)
    params = {
        item.name: _error(item.error, item.name)
        for action in actions
        for item in action.inputs
        if item.error is not None
    }
    if params:
        rendered["params"] = params
    return rendered


def _error(error: FlowError | InputError, input_name: str = "") -> dict[str, Any]:
    message = texts.error_sentence(error.code, input_name) or error.message
    return {"code": error.code, "message": str(message)}
