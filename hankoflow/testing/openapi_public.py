"""Check non-flow public API responses against Hanko's ``openapi-public.yaml`` (platform.md §3).

``assert_valid_public_response("GET", "/me", 200, body)`` validates a response of one of the
session endpoints (``/.well-known/jwks.json``, ``/sessions/validate``, ``/me``, ``/users/{id}``,
``/logout``) against the published document, the same way ``hankoflow.testing.openapi`` checks
the Flow API and with the same pieces (``openapi_documents``, ``openapi_corrections``,
``openapi_validation``): the document is found by ``openapi_documents``, patched by
``CORRECTIONS`` — one named entry per place where platform.md says the Go server differs from
the document — and tightened by ``STRICTNESS`` (keys the server always sends). Each entry checks
that the defect is still there, so an upstream fix fails loudly instead of being silently
rewritten.

``check(response, method, path)`` takes a Django test-client response and returns its parsed
body after validating it.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30Validator
from referencing import Registry
from referencing.jsonschema import DRAFT4

from hankoflow.testing.openapi_corrections import (
    ABSENT,
    Correction,
    CorrectionError,
    apply_entries,
    node_at,
    replace,
)
from hankoflow.testing.openapi_documents import PUBLIC_DOCUMENT, document_path, read_document
from hankoflow.testing.openapi_validation import FORMATS, describe

_BASE_URI = "urn:hankoflow:openapi-public"
_S = "/components/schemas/"
_R = "/components/responses/"

# Statuses hankoflow sends deliberately where Hanko's document has none, checked as Hanko's error
# body (README "Deliberate differences"): (method, path template, status) -> why.
EXTRA_RESPONSES = {
    ("post", "/logout", 403): "cross-origin cookie request from an origin not allowed (SE-10)",
    ("post", "/sessions/validate", 413): "body larger than 64 KiB",
    ("post", "/sessions/validate", 415): "body that is neither JSON nor a form",
}


def default_spec_path() -> Path:
    return document_path(PUBLIC_DOCUMENT)


def read_public_spec(path: Path | None = None) -> dict[str, Any]:
    """The public document as published (fresh, uncorrected)."""
    return read_document(Path(path) if path is not None else default_spec_path())


# --- corrections (platform.md wins over the document) ------------------------------------------


def _fix_is_valid_required(spec: dict[str, Any]) -> None:
    # §2.6: the response always carries `is_valid`; the document requires a key `isValid`.
    schema = _R + "ValidateSessionResponse/content/application~1json/schema"
    replace(spec, schema + "/required", ["isValid"], ["is_valid"])


def _fix_mfa_config_name(spec: dict[str, Any]) -> None:
    # §2.7: the server sends `security_keys_enabled`; the document spells it `security_key_...`.
    props = node_at(spec, _S + "UserBase/properties/mfa_config/properties")
    if "security_key_enabled" not in props:
        raise CorrectionError("UserBase.mfa_config has no security_key_enabled any more")
    props["security_keys_enabled"] = props.pop("security_key_enabled")


def _fix_amr_values(spec: dict[str, Any]) -> None:
    # §2.1.1: third-party values are `ext:<provider_id>` (or bare `ext`), not that literal text.
    pointer = _S + "JWTClaims/properties/amr/items"
    items = node_at(spec, pointer)
    if "ext:<provider>" not in items.get("enum", []):
        raise CorrectionError("JWTClaims.amr no longer lists the literal 'ext:<provider>'")
    fixed = [value for value in items["enum"] if value != "ext:<provider>"]
    replace(
        spec,
        pointer,
        items,
        {
            "anyOf": [
                {"type": "string", "enum": fixed},
                {"type": "string", "pattern": "^ext(:.+)?$"},
            ]
        },
    )


def _fix_credential_id_and_transports(spec: dict[str, Any]) -> None:
    # flow-api.md §7.12: a credential id is base64url, not a UUID. The transports enum lacks the
    # WebAuthn Level 3 values browsers report today (hybrid, smart-card).
    props = _S + "WebauthnCredential/properties/"
    replace(spec, props + "id", {"type": "string", "format": "uuid"}, {"type": "string"})
    transports = node_at(spec, props + "transports/items/enum")
    replace(
        spec,
        props + "transports/items/enum",
        transports,
        [*transports, "hybrid", "smart-card"],
    )


def _add_user_by_id_401(spec: dict[str, Any]) -> None:
    # §3.3.10 / §2.4: GET /users/{id} is session-authenticated, so it answers 401 without one.
    pointer = "/paths/~1users~1{id}/get/responses/401"
    replace(spec, pointer, ABSENT, {"$ref": "#/components/responses/Unauthorized"})


def _add_me_404(spec: dict[str, Any]) -> None:
    # §2.7: 404 when the user row is gone.
    replace(spec, "/paths/~1me/get/responses/404", ABSENT, {"$ref": f"#{_R}NotFound"})


CORRECTIONS: tuple[Correction, ...] = (
    Correction("platform §2.6", "is_valid is the required key", _fix_is_valid_required),
    Correction("platform §2.7", "mfa_config.security_keys_enabled", _fix_mfa_config_name),
    Correction("platform §2.1.1", "amr ext:<provider_id> values", _fix_amr_values),
    Correction("platform §3.3.10", "GET /users/{id} answers 401", _add_user_by_id_401),
    Correction("platform §2.7", "GET /me answers 404", _add_me_404),
    Correction(
        "flow-api §7.12",
        "credential id base64url; L3 transports",
        _fix_credential_id_and_transports,
    ),
)


# --- strictness: what the server always sends ---------------------------------------------------


def _strict_jwk(spec: dict[str, Any]) -> None:
    # §2.2 + security-checks SE-04: RSA public members only, all of them, nothing private.
    replace(spec, _S + "JSONWebKey/required", ABSENT, ["kty", "kid", "alg", "use", "n", "e"])
    replace(spec, _S + "JSONWebKey/additionalProperties", ABSENT, False)
    replace(spec, _S + "JSONWebKeySet/required", ABSENT, ["keys"])


def _strict_user(spec: dict[str, Any]) -> None:
    # §2.7: id, user_id, mfa_config, created_at, updated_at are always present.
    required = ["id", "user_id", "mfa_config", "created_at", "updated_at"]
    replace(spec, _S + "UserBase/required", ABSENT, required)
    mfa = ["auth_app_set_up", "totp_enabled", "security_keys_enabled"]
    replace(spec, _S + "UserBase/properties/mfa_config/required", ABSENT, mfa)


def _strict_claims(spec: dict[str, Any]) -> None:
    # §2.6: the email claim always has its three members.
    pointer = _S + "JWTClaims/properties/email/required"
    replace(spec, pointer, ABSENT, ["address", "is_primary", "is_verified"])


STRICTNESS: tuple[Correction, ...] = (
    Correction("platform §2.2", "JWKs: public RSA members only", _strict_jwk),
    Correction("platform §2.7", "user object keys required", _strict_user),
    Correction("platform §2.6", "email claim members required", _strict_claims),
)


def apply_corrections(spec: dict[str, Any]) -> dict[str, Any]:
    return apply_entries(spec, (*CORRECTIONS, *STRICTNESS))


@functools.lru_cache(maxsize=4)
def _compiled(path: Path) -> tuple[dict[str, Any], Registry]:
    spec = apply_corrections(read_public_spec(path))
    return spec, Registry().with_resource(_BASE_URI, DRAFT4.create_resource(spec))


def load_public_spec(path: Path | None = None) -> dict[str, Any]:
    """The corrected document (cached: treat as read-only)."""
    return _compiled((Path(path) if path else default_spec_path()).resolve())[0]


# --- validation ---------------------------------------------------------------------------------


def _template_for(spec: dict[str, Any], path: str) -> str | None:
    path = path.split("?", 1)[0]
    for template in spec["paths"]:
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            return template
    return None


def public_response_errors(method: str, path: str, status: int, body: Any) -> list[str]:
    """Readable problems of ``body`` as the answer ``status`` to ``METHOD path`` (``body`` is
    the parsed JSON, or None for an empty body)."""
    spec, registry = _compiled(default_spec_path().resolve())
    template = _template_for(spec, path)
    method = method.lower()
    operation = spec["paths"].get(template or "", {}).get(method)
    if template is None or operation is None:
        return [f"openapi-public.yaml documents no {method.upper()} {path}"]
    code = str(status)
    responses = operation["responses"]
    if code in responses:
        pointer = (
            f"/paths/{template.replace('~', '~0').replace('/', '~1')}/{method}/responses/{code}"
        )
    elif (method, template, status) in EXTRA_RESPONSES:
        pointer = _R + "BadRequest"  # Hanko's error body, the shape every error response has
    else:
        return [f"{method.upper()} {template} documents no response {status} ({sorted(responses)})"]
    response = node_at(spec, pointer)
    while "$ref" in response:
        pointer = response["$ref"].lstrip("#")
        response = node_at(spec, pointer)
    content = response.get("content", {}).get("application/json")
    if content is None or "schema" not in content:
        return [] if body is None else [f"{status} documents no body, got {body!r:.200}"]
    if body is None:
        return [f"{status} must have a JSON body"]
    validator = OAS30Validator(
        {"$ref": f"{_BASE_URI}#{pointer}/content/application~1json/schema"},
        registry=registry,
        format_checker=FORMATS,
    )
    problems = [line for error in validator.iter_errors(body) for line in describe(error)]
    problems.extend(_invariants(template, status, body))
    return sorted(dict.fromkeys(problems))


def _invariants(template: str, status: int, body: Any) -> Iterator[str]:
    if status >= 400 and isinstance(body, dict) and body.get("code") != status:
        yield f"$.code: {body.get('code')!r} differs from the HTTP status {status}"
    if template == "/sessions/validate" and status == 200 and isinstance(body, dict):
        # §2.6: invalid → exactly {"is_valid": false}; valid → claims and the deprecated copies.
        if body.get("is_valid") is True:
            for key in ("claims", "expiration_time", "user_id"):
                if key not in body:
                    yield f"$: a valid session's answer lacks {key!r}"
            claims = body.get("claims") or {}
            if body.get("user_id") != claims.get("subject"):
                yield "$.user_id differs from claims.subject"
            if body.get("expiration_time") != claims.get("expiration"):
                yield "$.expiration_time differs from claims.expiration"
        elif body != {"is_valid": False}:
            yield f"$: an invalid session's answer must be {{'is_valid': false}}, got {body!r}"


def assert_valid_public_response(method: str, path: str, status: int, body: Any) -> None:
    problems = public_response_errors(method, path, status, body)
    if problems:
        raise AssertionError(
            f"{method.upper()} {path} -> {status} does not match openapi-public.yaml "
            "(with hankoflow's corrections):\n  " + "\n  ".join(problems)
        )


def check(response: Any, method: str, path: str) -> Any:
    """Validate a Django test-client response; returns its parsed JSON body (None if empty)."""
    body = json.loads(response.content) if response.content else None
    assert_valid_public_response(method, path, response.status_code, body)
    return body
