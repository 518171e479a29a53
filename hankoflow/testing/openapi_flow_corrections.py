"""hankoflow's corrections to ``openapi-flow.yaml``: the tables the Flow API checker applies.

``CORRECTIONS`` holds one named entry per defect that flow-api.md §7 lists and that affects
responses (we follow the Go backend). ``STRICTNESS`` then requires the keys that §1.6 says Go
always emits but the document leaves optional (without it a body missing ``actions`` would pass).
``hankoflow.testing.openapi`` applies both, in that order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hankoflow.testing.openapi_corrections import (
    ABSENT,
    SCHEMAS,
    Correction,
    CorrectionError,
    node_at,
    ref,
    replace,
)

_S = "/components/schemas/"


def _input(name: str, type_: str) -> dict[str, Any]:
    props = {"name": {"enum": [name]}, "type": {"enum": [type_]}}
    return {"allOf": [ref("Input"), {"type": "object", "properties": props}]}


# --- §7 corrections (Go behaviour wins; one entry per item that affects responses) -----------


def _fix_username_delete_action(spec: dict[str, Any]) -> None:
    # §7.4: ActionUsernameDelete enumerates `username_create`; Go's action is `username_delete`.
    pointer = _S + "ActionUsernameDelete/allOf/1/properties/action/enum"
    replace(spec, pointer, ["username_create"], ["username_delete"])


def _fix_verify_attestation_action(spec: dict[str, Any]) -> None:
    # §7.4: ActionWebauthnVerifyAttestationResponse enumerates the *assertion* action name.
    pointer = _S + "ActionWebauthnVerifyAttestationResponse/allOf/1/properties/action/enum"
    replace(
        spec,
        pointer,
        ["webauthn_verify_assertion_response"],
        ["webauthn_verify_attestation_response"],
    )


def _allow_any_input_value(spec: dict[str, Any]) -> None:
    # §7.7: Input.value is typed string; Go sends null for fresh "preserve" inputs (any JSON type).
    replace(spec, _S + "Input/properties/value", {"type": "string"}, ref("AnyValue"))


def _fix_public_key_input_name(spec: dict[str, Any]) -> None:
    # §7.7: InputPublicKey is named `public-key`; Go's input is `public_key`.
    pointer = _S + "InputPublicKey/allOf/1/properties/name/enum"
    replace(spec, pointer, ["public-key"], ["public_key"])


def _fix_new_password_input(spec: dict[str, Any]) -> None:
    # §7.7: InputNewPassword extends InputPassword, inheriting name `password` next to its own
    # `new_password`, so no input can match; Go: name `new_password`, type `password`.
    replace(spec, _S + "InputNewPassword/allOf/0", ref("InputPassword"), ref("Input"))
    replace(spec, _S + "InputNewPassword/allOf/1/properties/type", ABSENT, {"enum": ["password"]})


def _fix_profile_password_inputs(spec: dict[str, Any]) -> None:
    # §7.7: profile password_create/password_update declare `password` with type `string`.
    for schema in ("InputsPasswordCreate", "InputsPasswordUpdate"):
        pointer = f"{_S}{schema}/properties/password"
        replace(spec, pointer, ref("InputPassword"), _input("password", "string"))


def _fix_email_address_set_input(spec: dict[str, Any]) -> None:
    # §7.7: email_address_set's `email` input has type `string` in Go (InputEmail says `email`).
    pointer = _S + "InputsEmailAddressSet/properties/email"
    replace(spec, pointer, ref("InputEmail"), _input("email", "string"))


def _unpin_username_lengths(spec: dict[str, Any]) -> None:
    # §7.7: InputUsername pins min_length 3 / max_length 40; Go sends the configured limits.
    props = _S + "InputUsername/allOf/1/properties/"
    replace(spec, props + "min_length", {"type": "number", "enum": [3]}, {"type": "integer"})
    replace(spec, props + "max_length", {"type": "number", "enum": [40]}, {"type": "integer"})


def _allow_custom_providers(spec: dict[str, Any]) -> None:
    # §7.7: provider allowed values also include configured `custom_<name>` providers.
    pointer = _S + "InputProvider/allOf/1/properties/allowed_values/items/properties/value"
    custom = {"type": "string", "pattern": "^custom_"}
    new = {"anyOf": [ref("InputProviderAllowedValue"), custom]}
    replace(spec, pointer, ref("InputProviderAllowedValue"), new)


def _allow_ext_amr(spec: dict[str, Any]) -> None:
    # §7.12 with §4.5.1: `ext:<provider>` in the amr enum is a placeholder; Go sends e.g.
    # `ext:google`.
    pointer = _S + "Claims/properties/amr/items"
    old = node_at(spec, pointer)
    if not isinstance(old, dict) or "ext:<provider>" not in old.get("enum", []):
        raise CorrectionError(f"{pointer}: no ext:<provider> placeholder any more")
    new = {"anyOf": [old, {"type": "string", "pattern": "^ext(:.+)?$"}]}
    replace(spec, pointer, old, new)


def _relax_thirdparty_payload(spec: dict[str, Any]) -> None:
    # §7.12 with §4.0.2.9: `thirdparty` carries `redirect_url` only when thirdparty_oauth entered
    # it; re-rendered after a refused exchange_token (400, 429 retry_after) its payload has none.
    node = node_at(spec, _S + "PayloadThirdParty")
    if node.get("required") != ["redirect_url"]:
        raise CorrectionError(f"{_S}PayloadThirdParty/required: not ['redirect_url'] any more")
    del node["required"]


# §7.8: the state unions omit `error` (and some onboarding states reachable after third party).
_MISSING_STATES = {
    "StatesLogin": {"error": "StateError"},
    "StatesRegistration": {
        "error": "StateError",
        "onboarding_email": "StateOnboardingEmail",
        "onboarding_username": "StateOnboardingUsername",
    },
    "StatesProfile": {"error": "StateError"},
    "StatesTokenExchange": {"error": "StateError", "onboarding_email": "StateOnboardingEmail"},
}


def _add_missing_states(spec: dict[str, Any]) -> None:
    for union, states in _MISSING_STATES.items():
        schema = node_at(spec, _S + union)
        for name, target in states.items():
            replace(spec, f"{_S}{union}/discriminator/mapping/{name}", ABSENT, SCHEMAS + target)
            schema["oneOf"].append(ref(target))


def _relax_login_init_payload(spec: dict[str, Any]) -> None:
    # §7.12: StateLoginInit requires payload.request_options; Go sends it only with conditional
    # mediation available (else payload `{}`). login_passkey keeps the requirement.
    options = {"request_options": ref("CredentialRequestOptions")}
    payload = {"type": "object", "properties": options}
    pointer = _S + "StateLoginInit/allOf/1/properties/payload"
    replace(spec, pointer, ref("PayloadRequestOptions"), payload)


def _relax_login_passkey_payload(spec: dict[str, Any]) -> None:
    # §7.13 with §4.0.2.8: login_passkey re-rendered after a failed verification (401) has payload
    # `{}`; a 200 login_passkey still must carry request_options.
    pointer = _S + "StateLoginPasskey/allOf/1/properties/payload"
    replace(spec, pointer, ref("PayloadRequestOptions"), {"type": "object"})
    node_at(spec, _S + "StateLoginPasskey/allOf").append(
        {
            "anyOf": [
                {
                    "properties": {
                        "status": {"enum": [200]},
                        "payload": ref("PayloadRequestOptions"),
                    }
                },
                {"properties": {"status": {"not": {"enum": [200]}}}},
            ]
        }
    )


def _add_missing_claims(spec: dict[str, Any]) -> None:
    # §7.12: Claims lacks expiration, session_id (always sent; elements needs expiration) and
    # username (sent when set).
    props = _S + "Claims/properties/"
    replace(spec, props + "expiration", ABSENT, {"type": "string", "format": "date-time"})
    replace(spec, props + "session_id", ABSENT, {"type": "string", "format": "uuid"})
    replace(spec, props + "username", ABSENT, {"type": "string"})
    replace(spec, _S + "Claims/required", ABSENT, ["expiration", "session_id"])


def _fix_credential_id_format(spec: dict[str, Any]) -> None:
    # §7.12: WebauthnCredential.id is a base64url credential id in Go, not a UUID.
    pointer = _S + "WebauthnCredential/properties/id"
    replace(spec, pointer, {"type": "string", "format": "uuid"}, {"type": "string"})


def _unpin_state_status(spec: dict[str, Any]) -> None:
    # §7.13: State* schemas pin `status` to 200, but Go re-renders states with 4xx; the response
    # code wrapper (see _keep_state_on) and the HTTP-status invariant pin it instead.
    unpinned = 0
    for name, schema in spec["components"]["schemas"].items():
        for part in schema.get("allOf", []) if name.startswith("State") else ():
            props = part.get("properties", {})
            if props.get("status") == {"type": "integer", "enum": [200]}:
                props["status"] = {"type": "integer"}
                unpinned += 1
    if not unpinned:
        raise CorrectionError("no State* schema pins status to 200 any more")


_FLOW_UNIONS = {
    "/login": "StatesLogin",
    "/registration": "StatesRegistration",
    "/profile": "StatesProfile",
    "/token_exchange": "StatesTokenExchange",
}


def _keep_state_on(*codes: str) -> Callable[[dict[str, Any]], None]:
    """In-flow 4xx errors re-render the current state: accept the flow's states for ``codes``."""

    def apply(spec: dict[str, Any]) -> None:
        for path, union in _FLOW_UNIONS.items():
            responses = spec["paths"][path]["post"]["responses"]
            for code in codes:
                if code not in responses:
                    continue
                original = responses[code].get("$ref")
                if original is None:
                    raise CorrectionError(f"{path} {code} is no longer a shared $ref response")
                status = {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"status": {"enum": [int(code)]}, "error": ref("Error")},
                }
                schema = {"allOf": [ref(union), status]}
                responses[code] = {
                    "description": f"{original.rsplit('/', 1)[-1]}, any {union} state (hankoflow)",
                    "content": {"application/json": {"schema": schema}},
                }

    return apply


CORRECTIONS: tuple[Correction, ...] = (
    Correction("§7.4", "username_delete action name", _fix_username_delete_action),
    Correction("§7.4", "webauthn_verify_attestation_response name", _fix_verify_attestation_action),
    Correction("§7.7", "Input.value may be null / any JSON", _allow_any_input_value),
    Correction("§7.7", "public_key input name", _fix_public_key_input_name),
    Correction("§7.7", "new_password input", _fix_new_password_input),
    Correction("§7.7", "profile password inputs are type string", _fix_profile_password_inputs),
    Correction("§7.7", "email_address_set email is type string", _fix_email_address_set_input),
    Correction("§7.7", "username lengths come from config", _unpin_username_lengths),
    Correction("§7.7", "custom_<name> providers", _allow_custom_providers),
    Correction("§7.12", "amr ext:<provider> is a pattern (§4.5.1)", _allow_ext_amr),
    Correction("§7.12", "thirdparty payload may lack redirect_url", _relax_thirdparty_payload),
    Correction("§7.8", "error/onboarding states missing from unions", _add_missing_states),
    Correction("§7.12", "login_init request_options optional", _relax_login_init_payload),
    Correction(
        "§7.13", "login_passkey after a failure has payload {}", _relax_login_passkey_payload
    ),
    Correction("§7.12", "claims expiration/session_id/username", _add_missing_claims),
    Correction("§7.12", "credential id is base64url", _fix_credential_id_format),
    Correction("§7.13", "state status not pinned to 200", _unpin_state_status),
    Correction("§7.9", "401/429 keep the current state", _keep_state_on("401", "429")),
    Correction("§7.13", "400/403/404 keep the current state", _keep_state_on("400", "403", "404")),
)


# --- §1.6 strictness: keys Go always emits that the document leaves optional -----------------

_INPUT_TYPES = ["string", "email", "password", "boolean", "json", "number"]


def _strict_state(spec: dict[str, Any]) -> None:
    # §1.6.1: name, status, csrf_token, actions, links are always present; actions maps to Actions.
    required = ["name", "status", "csrf_token", "actions", "links"]
    replace(spec, _S + "StateBase/required", ABSENT, required)
    actions = _S + "StateBase/properties/actions/additionalProperties"
    replace(spec, actions, ABSENT, ref("Action"))


def _require_payload(spec: dict[str, Any]) -> None:
    # §1.6.1: payload is present on every response except early errors (state `error`).
    for name, schema in spec["components"]["schemas"].items():
        early_error_capable = name in ("StateBase", "StateError")
        if name.startswith("State") and not early_error_capable and "allOf" in schema:
            schema["allOf"].append({"required": ["payload"]})


def _strict_action(spec: dict[str, Any]) -> None:
    # §1.6.2: href, inputs, action, description are always present; inputs maps to Inputs.
    replace(spec, _S + "Action/required", ABSENT, ["href", "inputs", "action", "description"])
    replace(spec, _S + "Action/properties/inputs/additionalProperties", ABSENT, ref("Input"))


def _strict_input(spec: dict[str, Any]) -> None:
    # §1.6.3: name and type are always present, type is one of the engine's types, error is Error.
    replace(spec, _S + "Input/required", ABSENT, ["name", "type"])
    new_type = {"type": "string", "enum": _INPUT_TYPES}
    replace(spec, _S + "Input/properties/type", {"type": "string"}, new_type)
    replace(spec, _S + "Input/properties/error", ABSENT, ref("Error"))


def _strict_error(spec: dict[str, Any]) -> None:
    # §1.6.4: error objects always carry code and message.
    replace(spec, _S + "Error/required", ABSENT, ["code", "message"])


STRICTNESS: tuple[Correction, ...] = (
    Correction("§1.6.1", "state object keys required", _strict_state),
    Correction("§1.6.1", "payload required outside early errors", _require_payload),
    Correction("§1.6.2", "action object keys required", _strict_action),
    Correction("§1.6.3", "input name/type required, type enumerated", _strict_input),
    Correction("§1.6.4", "error code/message required", _strict_error),
)
