"""Check Flow API responses against Hanko's published OpenAPI document (flow-api.md §1.6, §7).

``assert_valid_flow_response`` validates a response body produced by hankoflow against
``openapi-flow.yaml`` (OpenAPI 3.0.3), so wire drift from Hanko shows up in our tests. We follow
the Go backend, so the loaded document is first patched by ``CORRECTIONS``: one small, named entry
per defect that flow-api.md §7 lists and that affects responses. ``STRICTNESS`` then requires the
keys that §1.6 says Go always emits but the document leaves optional (without it a body missing
``actions`` would pass). Every entry checks that the defect is still there before patching, so a
fixed upstream document makes the entry fail loudly instead of silently rewriting good schema.

The YAML is never copied into this repository: it is read from
``<repo root>/../shared/hanko-openapi/openapi-flow.yaml``, or from the ``hanko-openapi/``
directory under ``$HANKOFLOW_SHARED_DIR`` when that is set.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import FormatChecker, ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import extend
from openapi_schema_validator import OAS30Validator
from referencing import Registry
from referencing.jsonschema import DRAFT4

SHARED_DIR_ENV = "HANKOFLOW_SHARED_DIR"

_SPEC_RELPATH = Path("hanko-openapi", "openapi-flow.yaml")
_BASE_URI = "urn:hankoflow:openapi-flow"
_SCHEMAS = "#/components/schemas/"
_ABSENT = object()


# Deliberate hankoflow statuses Hanko never sends (README "Deliberate differences"): a body too
# large (413) or not JSON (415) answers the same early-error shape as Hanko's 400.
EXTRA_STATUSES = {413: 400, 415: 400}


class CorrectionError(RuntimeError):
    """A correction no longer matches the document: re-check flow-api.md §7 and update the table."""


@dataclass(frozen=True)
class Correction:
    """One named patch of the loaded document; ``ref`` is the flow-api.md section it implements."""

    ref: str
    summary: str
    apply: Callable[[dict[str, Any]], None]


# --- document access -------------------------------------------------------------------------


def shared_path(relpath: Path) -> Path:
    """A file of the shared reference material (``$HANKOFLOW_SHARED_DIR`` or ``../shared``)."""
    shared = os.environ.get(SHARED_DIR_ENV)
    if shared:
        return Path(shared) / relpath
    return Path(__file__).resolve().parents[2].parent / "shared" / relpath


def read_document(path: Path) -> dict[str, Any]:
    """An OpenAPI document exactly as published (fresh); response codes become strings."""
    if not path.is_file():
        raise FileNotFoundError(
            f"{path.name} not found at {path}; set {SHARED_DIR_ENV} to the shared/ directory"
        )
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    for item in spec.get("paths", {}).values():
        for operation in item.values():
            if isinstance(operation, dict) and "responses" in operation:
                operation["responses"] = {str(k): v for k, v in operation["responses"].items()}
    return spec


def default_spec_path() -> Path:
    """Where the shared ``openapi-flow.yaml`` lives (env override for CI and other layouts)."""
    return shared_path(_SPEC_RELPATH)


def read_flow_spec(path: Path | None = None) -> dict[str, Any]:
    """The flow document exactly as published (fresh, uncorrected)."""
    return read_document(Path(path) if path is not None else default_spec_path())


def apply_corrections(spec: dict[str, Any]) -> dict[str, Any]:
    """Apply ``CORRECTIONS``, then ``STRICTNESS``, in place; CorrectionError if one is stale."""
    return apply_entries(spec, (*CORRECTIONS, *STRICTNESS))


def apply_entries(spec: dict[str, Any], entries: tuple[Correction, ...]) -> dict[str, Any]:
    """Apply correction entries in order, naming the entry that no longer fits the document."""
    for entry in entries:
        try:
            entry.apply(spec)
        except CorrectionError as exc:
            raise CorrectionError(f"{entry.ref} ({entry.summary}): {exc}") from exc
    return spec


def load_flow_spec(path: Path | None = None) -> dict:
    """The corrected document (cached per path and shared between callers: treat as read-only)."""
    return _compiled(_resolve(path)).spec


def flow_response_errors(
    flow_path: str, status: int, body: Any, *, spec: dict[str, Any] | None = None
) -> list[str]:
    """Readable problems of ``body`` as the response to ``POST flow_path`` with HTTP ``status``.

    ``spec`` defaults to the corrected shared document; pass ``read_flow_spec()`` to see what the
    document says without hankoflow's corrections.
    """
    compiled = _compiled(_resolve(None)) if spec is None else _compile(spec)
    pointer, problem = _response_schema_pointer(compiled.spec, flow_path, status)
    if problem:
        return [problem]
    if not isinstance(body, dict):
        return [f"$: response body must be a JSON object, got {type(body).__name__}"]
    validator = compiled.validator_cls(
        {"$ref": f"{_BASE_URI}#{pointer}"}, registry=compiled.registry, format_checker=_FORMATS
    )
    # An extra status is checked as the documented one it stands for.
    documented = {**body, "status": EXTRA_STATUSES[status]} if status in EXTRA_STATUSES else body
    problems = [line for error in validator.iter_errors(documented) for line in _describe(error)]
    problems.extend(_invariant_problems(status, body))
    return sorted(dict.fromkeys(problems))


def assert_valid_flow_response(flow_path: str, status: int, body: dict) -> None:
    """Fail the test unless ``body`` is a valid ``POST flow_path`` response with HTTP ``status``."""
    problems = flow_response_errors(flow_path, status, body)
    if problems:
        summary = f"name={body.get('name')!r}" if isinstance(body, dict) else ""
        raise AssertionError(
            f"POST {flow_path} -> {status} ({summary}) does not match openapi-flow.yaml "
            "(with hankoflow's flow-api.md §7 corrections):\n  " + "\n  ".join(problems)
        )


# --- pointer helpers used by the correction table --------------------------------------------


def _get(spec: Any, pointer: str) -> Any:
    node = spec
    for token in pointer.lstrip("#").split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(token)] if isinstance(node, list) else node[token]
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise CorrectionError(f"{pointer} does not exist") from exc
    return node


def _replace(spec: dict[str, Any], pointer: str, expected: Any, new: Any) -> None:
    """Set ``pointer`` to ``new`` after checking it still holds ``expected`` (or is _ABSENT)."""
    parent_pointer, _, key = pointer.rpartition("/")
    parent = _get(spec, parent_pointer)
    if isinstance(parent, list):
        current = _get(spec, pointer)
        parent[int(key)] = _check(pointer, current, expected, new)
    else:
        parent[key] = _check(pointer, parent.get(key, _ABSENT), expected, new)


def _check(pointer: str, current: Any, expected: Any, new: Any) -> Any:
    if current is not expected and current != expected:
        shown = "<absent>" if current is _ABSENT else repr(current)
        raise CorrectionError(f"{pointer}: expected {expected!r}, found {shown}")
    return new


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _SCHEMAS + name}


def _input(name: str, type_: str) -> dict[str, Any]:
    props = {"name": {"enum": [name]}, "type": {"enum": [type_]}}
    return {"allOf": [_ref("Input"), {"type": "object", "properties": props}]}


# --- §7 corrections (Go behaviour wins; one entry per item that affects responses) -----------

_S = "/components/schemas/"


def _fix_username_delete_action(spec: dict[str, Any]) -> None:
    # §7.4: ActionUsernameDelete enumerates `username_create`; Go's action is `username_delete`.
    pointer = _S + "ActionUsernameDelete/allOf/1/properties/action/enum"
    _replace(spec, pointer, ["username_create"], ["username_delete"])


def _fix_verify_attestation_action(spec: dict[str, Any]) -> None:
    # §7.4: ActionWebauthnVerifyAttestationResponse enumerates the *assertion* action name.
    pointer = _S + "ActionWebauthnVerifyAttestationResponse/allOf/1/properties/action/enum"
    _replace(
        spec,
        pointer,
        ["webauthn_verify_assertion_response"],
        ["webauthn_verify_attestation_response"],
    )


def _allow_any_input_value(spec: dict[str, Any]) -> None:
    # §7.7: Input.value is typed string; Go sends null for fresh "preserve" inputs (any JSON type).
    _replace(spec, _S + "Input/properties/value", {"type": "string"}, _ref("AnyValue"))


def _fix_public_key_input_name(spec: dict[str, Any]) -> None:
    # §7.7: InputPublicKey is named `public-key`; Go's input is `public_key`.
    pointer = _S + "InputPublicKey/allOf/1/properties/name/enum"
    _replace(spec, pointer, ["public-key"], ["public_key"])


def _fix_new_password_input(spec: dict[str, Any]) -> None:
    # §7.7: InputNewPassword extends InputPassword, inheriting name `password` next to its own
    # `new_password`, so no input can match; Go: name `new_password`, type `password`.
    _replace(spec, _S + "InputNewPassword/allOf/0", _ref("InputPassword"), _ref("Input"))
    _replace(spec, _S + "InputNewPassword/allOf/1/properties/type", _ABSENT, {"enum": ["password"]})


def _fix_profile_password_inputs(spec: dict[str, Any]) -> None:
    # §7.7: profile password_create/password_update declare `password` with type `string`.
    for schema in ("InputsPasswordCreate", "InputsPasswordUpdate"):
        pointer = f"{_S}{schema}/properties/password"
        _replace(spec, pointer, _ref("InputPassword"), _input("password", "string"))


def _fix_email_address_set_input(spec: dict[str, Any]) -> None:
    # §7.7: email_address_set's `email` input has type `string` in Go (InputEmail says `email`).
    pointer = _S + "InputsEmailAddressSet/properties/email"
    _replace(spec, pointer, _ref("InputEmail"), _input("email", "string"))


def _unpin_username_lengths(spec: dict[str, Any]) -> None:
    # §7.7: InputUsername pins min_length 3 / max_length 40; Go sends the configured limits.
    props = _S + "InputUsername/allOf/1/properties/"
    _replace(spec, props + "min_length", {"type": "number", "enum": [3]}, {"type": "integer"})
    _replace(spec, props + "max_length", {"type": "number", "enum": [40]}, {"type": "integer"})


def _allow_custom_providers(spec: dict[str, Any]) -> None:
    # §7.7: provider allowed values also include configured `custom_<name>` providers.
    pointer = _S + "InputProvider/allOf/1/properties/allowed_values/items/properties/value"
    custom = {"type": "string", "pattern": "^custom_"}
    new = {"anyOf": [_ref("InputProviderAllowedValue"), custom]}
    _replace(spec, pointer, _ref("InputProviderAllowedValue"), new)


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
        schema = _get(spec, _S + union)
        for name, target in states.items():
            _replace(spec, f"{_S}{union}/discriminator/mapping/{name}", _ABSENT, _SCHEMAS + target)
            schema["oneOf"].append(_ref(target))


def _relax_login_init_payload(spec: dict[str, Any]) -> None:
    # §7.12: StateLoginInit requires payload.request_options; Go sends it only with conditional
    # mediation available (else payload `{}`). login_passkey keeps the requirement.
    options = {"request_options": _ref("CredentialRequestOptions")}
    payload = {"type": "object", "properties": options}
    pointer = _S + "StateLoginInit/allOf/1/properties/payload"
    _replace(spec, pointer, _ref("PayloadRequestOptions"), payload)


def _relax_login_passkey_payload(spec: dict[str, Any]) -> None:
    # §7.13 with §4.0.2.8: login_passkey re-rendered after a failed verification (401) has payload
    # `{}`; a 200 login_passkey still must carry request_options.
    pointer = _S + "StateLoginPasskey/allOf/1/properties/payload"
    _replace(spec, pointer, _ref("PayloadRequestOptions"), {"type": "object"})
    _get(spec, _S + "StateLoginPasskey/allOf").append(
        {
            "anyOf": [
                {
                    "properties": {
                        "status": {"enum": [200]},
                        "payload": _ref("PayloadRequestOptions"),
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
    _replace(spec, props + "expiration", _ABSENT, {"type": "string", "format": "date-time"})
    _replace(spec, props + "session_id", _ABSENT, {"type": "string", "format": "uuid"})
    _replace(spec, props + "username", _ABSENT, {"type": "string"})
    _replace(spec, _S + "Claims/required", _ABSENT, ["expiration", "session_id"])


def _fix_credential_id_format(spec: dict[str, Any]) -> None:
    # §7.12: WebauthnCredential.id is a base64url credential id in Go, not a UUID.
    pointer = _S + "WebauthnCredential/properties/id"
    _replace(spec, pointer, {"type": "string", "format": "uuid"}, {"type": "string"})


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
                    "properties": {"status": {"enum": [int(code)]}, "error": _ref("Error")},
                }
                schema = {"allOf": [_ref(union), status]}
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
    _replace(spec, _S + "StateBase/required", _ABSENT, required)
    actions = _S + "StateBase/properties/actions/additionalProperties"
    _replace(spec, actions, _ABSENT, _ref("Action"))


def _require_payload(spec: dict[str, Any]) -> None:
    # §1.6.1: payload is present on every response except early errors (state `error`).
    for name, schema in spec["components"]["schemas"].items():
        early_error_capable = name in ("StateBase", "StateError")
        if name.startswith("State") and not early_error_capable and "allOf" in schema:
            schema["allOf"].append({"required": ["payload"]})


def _strict_action(spec: dict[str, Any]) -> None:
    # §1.6.2: href, inputs, action, description are always present; inputs maps to Inputs.
    _replace(spec, _S + "Action/required", _ABSENT, ["href", "inputs", "action", "description"])
    _replace(spec, _S + "Action/properties/inputs/additionalProperties", _ABSENT, _ref("Input"))


def _strict_input(spec: dict[str, Any]) -> None:
    # §1.6.3: name and type are always present, type is one of the engine's types, error is Error.
    _replace(spec, _S + "Input/required", _ABSENT, ["name", "type"])
    new_type = {"type": "string", "enum": _INPUT_TYPES}
    _replace(spec, _S + "Input/properties/type", {"type": "string"}, new_type)
    _replace(spec, _S + "Input/properties/error", _ABSENT, _ref("Error"))


def _strict_error(spec: dict[str, Any]) -> None:
    # §1.6.4: error objects always carry code and message.
    _replace(spec, _S + "Error/required", _ABSENT, ["code", "message"])


STRICTNESS: tuple[Correction, ...] = (
    Correction("§1.6.1", "state object keys required", _strict_state),
    Correction("§1.6.1", "payload required outside early errors", _require_payload),
    Correction("§1.6.2", "action object keys required", _strict_action),
    Correction("§1.6.3", "input name/type required, type enumerated", _strict_input),
    Correction("§1.6.4", "error code/message required", _strict_error),
)


def _invariant_problems(status: int, body: dict[str, Any]) -> Iterator[str]:
    # §3.1: the body's `status` equals the HTTP status; §1.6.1: non-200 responses carry `error`.
    if "status" in body and body["status"] != status:
        yield f"$.status: {body['status']!r} differs from the HTTP status {status}"
    if status != 200 and "error" not in body:
        yield f"$: HTTP {status} response has no 'error' object"


# --- validation machinery --------------------------------------------------------------------


def _formats() -> FormatChecker:
    # OAS 3.0 formats plus the JSON Schema ones the document uses (uuid, date-time, email, ipv4/6,
    # so that e.g. the ProfileDataSessions ip_address oneOf can tell its branches apart).
    checker = FormatChecker(formats=())
    checker.checkers.update(OAS30Validator.FORMAT_CHECKER.checkers)
    checker.checkers["uuid4"] = checker.checkers["uuid"]
    return checker


_FORMATS = _formats()


@dataclass(frozen=True)
class _Compiled:
    spec: dict[str, Any]
    registry: Registry
    validator_cls: Any


def _resolve(path: Path | None) -> Path:
    return (Path(path) if path is not None else default_spec_path()).resolve()


@functools.lru_cache(maxsize=4)
def _compiled(path: Path) -> _Compiled:
    return _compile(apply_corrections(read_flow_spec(path)))


def _compile(spec: dict[str, Any]) -> _Compiled:
    registry = Registry().with_resource(_BASE_URI, DRAFT4.create_resource(spec))
    cls = extend(OAS30Validator, validators={"oneOf": _name_dispatching_one_of(spec)})
    return _Compiled(spec=spec, registry=registry, validator_cls=cls)


def _name_tags(spec: dict[str, Any], schema: Any, depth: int = 0) -> frozenset | None:
    """The `name` values a schema admits (via enum/const, $ref and allOf); None if unconstrained."""
    if not isinstance(schema, dict) or depth > 16:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return _name_tags(spec, _get(spec, ref), depth + 1) if ref.startswith("#/") else None
    sets = []
    name = schema.get("properties", {}).get("name", {})
    if "enum" in name:
        sets.append(frozenset(name["enum"]))
    if "const" in name:
        sets.append(frozenset([name["const"]]))
    for part in schema.get("allOf", []):
        tags = _name_tags(spec, part, depth + 1)
        if tags is not None:
            sets.append(tags)
    return frozenset.intersection(*sets) if sets else None


def _name_dispatching_one_of(spec: dict[str, Any]) -> Callable[..., Iterator[ValidationError]]:
    """``oneOf`` that validates an object against the branch(es) declaring its ``name``.

    Hanko's unions (states, identifier inputs) are tagged by ``name``, sometimes without a usable
    discriminator mapping. When every branch declares its names, the body is checked only against
    branches whose names include ``body["name"]`` (valid if any of them accepts it), which also
    gives precise error paths. Anything else falls back to OpenAPI 3.0 ``oneOf`` semantics.
    """
    standard = OAS30Validator.VALIDATORS["oneOf"]
    cache: dict[int, frozenset | None] = {}

    def tags_of(branch: Any) -> frozenset | None:
        if id(branch) not in cache:
            cache[id(branch)] = _name_tags(spec, branch)
        return cache[id(branch)]

    def one_of(
        validator: Any, branches: list[Any], instance: Any, schema: Mapping[str, Any]
    ) -> Iterator[ValidationError]:
        name = instance.get("name") if isinstance(instance, dict) else None
        tags = [tags_of(branch) for branch in branches]
        tagged_by_name = schema.get("discriminator", {}).get("propertyName", "name") == "name"
        if not (tagged_by_name and isinstance(name, str) and all(t is not None for t in tags)):
            yield from standard(validator, branches, instance, schema)
            return
        candidates = [i for i, t in enumerate(tags) if name in t]
        if not candidates:
            allowed = sorted(str(n) for t in tags for n in t)
            yield ValidationError(f"{name!r} is not one of {allowed}", path=["name"])
            return
        results = [
            list(validator.descend(instance, branches[i], schema_path=i)) for i in candidates
        ]
        if not all(results):
            return
        yield from min(results, key=len)

    return one_of


def _response_schema_pointer(
    spec: dict[str, Any], flow_path: str, status: int
) -> tuple[str, str | None]:
    """JSON pointer of the response schema, or a problem message (fail closed)."""
    operation = spec.get("paths", {}).get(flow_path, {}).get("post")
    if operation is None:
        known = sorted(spec.get("paths", {}))
        return "", f"openapi-flow.yaml documents no POST {flow_path!r} (known: {known})"
    responses = operation.get("responses", {})
    documented = EXTRA_STATUSES.get(status, status)  # checked as the status it stands for
    code = next(
        (c for c in (str(documented), f"{documented // 100}XX", "default") if c in responses), None
    )
    if code is None:
        return "", f"POST {flow_path} documents no response {status} (only {sorted(responses)})"
    pointer = f"/paths/{flow_path.replace('~', '~0').replace('/', '~1')}/post/responses/{code}"
    response = responses[code]
    while "$ref" in response:
        pointer = response["$ref"].lstrip("#")
        response = _get(spec, pointer)
    if "schema" not in response.get("content", {}).get("application/json", {}):
        return "", f"POST {flow_path} response {code} has no application/json schema"
    return pointer + "/content/application~1json/schema", None


def _describe(error: ValidationError) -> Iterator[str]:
    if error.context:  # a plain oneOf/anyOf failed: report the closest branch's complaint
        closest = best_match(error.context)
        note = f"no {error.validator} branch matched"
        yield f"{closest.json_path}: {_short(closest.message)} ({note})"
        return
    message = error.message
    if message == "None for not nullable":
        message = "null is not allowed here"
    yield f"{error.json_path}: {_short(message)}"


def _short(message: str, limit: int = 500) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."
