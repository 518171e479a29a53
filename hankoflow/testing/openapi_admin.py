"""Check admin API responses against Hanko's ``openapi-admin.yaml`` (platform.md §4).

``assert_valid_admin_response("GET", "/users/{id}", 200, body)`` validates one answer of the
admin API (the path may be a template or a concrete path, with or without the mount prefix
``strip``), the same way ``openapi_public`` checks the public API and with the same pieces: the
document is found by ``openapi_documents``, patched by ``CORRECTIONS`` — one named entry per place
where platform.md says Hanko's server differs from its document — and tightened by
``STRICTNESS`` (what hankoflow always sends). Each entry checks that the defect is still there, so
an upstream fix fails loudly instead of being silently rewritten.

``check(response, method, path)`` takes a Django test-client response: it also checks the content
type and the headers the document promises (``X-Total-Count`` and ``Link`` of the lists), and
returns the parsed body (the text for HTML answers, None when empty).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from hankoflow.testing.openapi_corrections import (
    ABSENT,
    Correction,
    CorrectionError,
    apply_entries,
    node_at,
    ref,
    replace,
)
from hankoflow.testing.openapi_documents import document_path, read_document
from hankoflow.testing.openapi_validation import FORMATS, Compiled, compile_document, describe

__all__ = [
    "ADMIN_DOCUMENT",
    "CORRECTIONS",
    "EXTRA_RESPONSES",
    "EXTRA_STATUSES",
    "STRICTNESS",
    "CorrectionError",
    "admin_response_errors",
    "assert_valid_admin_response",
    "check",
    "load_admin_spec",
    "read_admin_spec",
]

ADMIN_DOCUMENT = "openapi-admin.yaml"
_BASE_URI = "urn:hankoflow:openapi-admin"
_S = "/components/schemas/"
_R = "/components/responses/"
_ERROR = _R + "BadRequest"  # Hanko's error body {"code", "message"}: every error has this shape

# Statuses any operation may answer in hankoflow, checked as Hanko's error body (README "Admin
# API"): status -> why.
EXTRA_STATUSES: dict[int, str] = {
    401: "no valid API key (Hanko Cloud's BearerApiKeyAuth; self-hosted Hanko has no auth)",
    403: "a read-only key asked for a change (hankoflow's key scopes)",
    413: "body larger than the limit",
    415: "body that is not JSON",
    429: "the API key's rate limit (ADMIN_API.RATE_LIMIT)",
}

# Statuses of one operation that are neither documented nor a correction of the document:
# (method, path template, status) -> why. Other modules may add their entries.
EXTRA_RESPONSES: dict[tuple[str, str, int], str] = {}


def default_spec_path() -> Path:
    return document_path(ADMIN_DOCUMENT)


def read_admin_spec(path: Path | None = None) -> dict[str, Any]:
    """The admin document as published (fresh, uncorrected)."""
    return read_document(Path(path) if path is not None else default_spec_path())


def _op(template: str, method: str) -> str:
    return f"/paths/{template.replace('~', '~0').replace('/', '~1')}/{method}"


# --- corrections (platform.md wins over the document) ------------------------------------------

# §5.2: the server accepts 28 subscription values; the document lists the first 14.
WEBHOOK_EVENTS = [
    "user",
    "user.create",
    "user.delete",
    "user.login",
    "user.update",
    "user.update.email",
    "user.update.email.create",
    "user.update.email.delete",
    "user.update.email.primary",
    "user.update.password.update",
    "user.update.username",
    "user.update.username.create",
    "user.update.username.delete",
    "user.update.username.update",
    "email.send",
    "session",
    "session.create",
    "session.create.flow",
    "session.create.admin",
    "session.delete",
    "session.delete.explicit",
    "session.delete.explicit.logout",
    "session.delete.explicit.revoke",
    "session.delete.admin",
    "session.delete.admin.revoke",
    "session.delete.passive",
    "session.delete.passive.expire",
    "session.delete.passive.limit",
]


def _fix_webhook_events(spec: dict[str, Any]) -> None:
    for pointer in (
        _S + "Webhook/properties/events/items/enum",
        _S + "DatabaseWebhookEvent/properties/event/enum",
    ):
        listed = node_at(spec, pointer)
        if "session" in listed or len(listed) != 14:
            raise CorrectionError(f"{pointer} no longer lists only the 14 user/email events")
        replace(spec, pointer, listed, list(WEBHOOK_EVENTS))


# hankoflow's own audit types (``services.audit.BEYOND_HANKO_TYPES``; README "Deliberate
# differences"): invitations, which Hanko does not have.
BEYOND_HANKO_AUDIT_TYPES = ("invitation_created", "invitation_revoked", "invitation_accepted")


def _fix_audit_types(spec: dict[str, Any]) -> None:
    # §6.3: 42 types exist; the enum lacks security_notification_sent.
    pointer = _S + "AuditLogTypes/enum"
    listed = node_at(spec, pointer)
    if "security_notification_sent" in listed:
        raise CorrectionError("AuditLogTypes lists security_notification_sent now")
    replace(
        spec, pointer, listed, [*listed, "security_notification_sent", *BEYOND_HANKO_AUDIT_TYPES]
    )


def _fix_credential_id_and_transports(spec: dict[str, Any]) -> None:
    # §4.3 / flow-api.md §7.12: a credential id is the base64url credential id, not a UUID; the
    # transports are WebAuthn's, Level 3 included (hybrid, smart-card).
    pointer = _S + "WebAuthnCredential/properties/id"
    node = node_at(spec, pointer)
    if node.get("allOf") != [ref("UUID4")]:
        raise CorrectionError(f"{pointer} is no longer a UUID4")
    replace(spec, pointer, node, {"type": "string", "description": node.get("description", "")})


def _fix_session_nullables(spec: dict[str, Any]) -> None:
    # §1.10: user_agent and ip_address are null when not recorded.
    for key in ("user_agent", "ip_address"):
        pointer = _S + f"Session/properties/{key}/nullable"
        replace(spec, pointer, ABSENT, True)


def _add_password_409(spec: dict[str, Any]) -> None:
    # §4.3.5: POST /users/{id}/password answers 409 when the user has a password already.
    pointer = _op("/users/{id}/password", "post") + "/responses/409"
    replace(spec, pointer, ABSENT, {"$ref": f"#{_R}Conflict"})


def _add_user_delete_400(spec: dict[str, Any]) -> None:
    # §4.3: a path id that is no UUID answers 400, for DELETE as for GET and PATCH.
    pointer = _op("/users/{id}", "delete") + "/responses/400"
    replace(spec, pointer, ABSENT, {"$ref": f"#{_R}BadRequest"})


def _add_patch_user_409(spec: dict[str, Any]) -> None:
    # §4.3.2: a username taken by another user answers 409 "username already exists".
    pointer = _op("/users/{id}", "patch") + "/responses/409"
    replace(spec, pointer, ABSENT, {"$ref": f"#{_R}Conflict"})


def _add_audit_logs_400(spec: dict[str, Any]) -> None:
    # §4.3.9: query values that do not parse (page, start_time, ...) answer 400.
    pointer = _op("/audit_logs", "get") + "/responses/400"
    replace(spec, pointer, ABSENT, {"$ref": f"#{_R}BadRequest"})


def _add_health(spec: dict[str, Any]) -> None:
    # §10.1 / §4.3: the admin server serves /health/alive and /health/ready too (undocumented).
    for name in ("alive", "ready"):
        body = {
            "type": "object",
            "required": [name],
            "properties": {name: {"type": "boolean", "enum": [True]}},
        }
        operation = {
            "operationId": f"health{name.title()}",
            "responses": {
                "200": {
                    "description": name,
                    "content": {"application/json": {"schema": body}},
                }
            },
        }
        if name == "ready":
            # hankoflow's ready check asks the database, cache and broker: 503 naming failures.
            failed = {
                "type": "object",
                "required": ["ready", "failed"],
                "properties": {
                    "ready": {"type": "boolean", "enum": [False]},
                    "failed": {"type": "array", "items": {"type": "string"}},
                },
            }
            operation["responses"]["503"] = {
                "description": "not ready",
                "content": {"application/json": {"schema": failed}},
            }
        if f"/health/{name}" in spec["paths"]:
            raise CorrectionError(f"/health/{name} is documented now")
        spec["paths"][f"/health/{name}"] = {"get": operation}


CORRECTIONS: tuple[Correction, ...] = (
    Correction("platform §5.2", "all 28 webhook events", _fix_webhook_events),
    Correction(
        "platform §6.3",
        "security_notification_sent and hankoflow's invitation audit types",
        _fix_audit_types,
    ),
    Correction(
        "platform §4.3, flow-api §7.12",
        "credential id is base64url",
        _fix_credential_id_and_transports,
    ),
    Correction("platform §1.10", "session user_agent/ip_address nullable", _fix_session_nullables),
    Correction("platform §4.3.5", "POST password answers 409", _add_password_409),
    Correction("platform §4.3", "DELETE /users/{id} answers 400", _add_user_delete_400),
    Correction("platform §4.3.2", "PATCH /users/{id} answers 409", _add_patch_user_409),
    Correction("platform §4.3.9", "GET /audit_logs answers 400", _add_audit_logs_400),
    Correction("platform §10.1", "/health/alive and /health/ready", _add_health),
)


# --- strictness: what hankoflow always sends ----------------------------------------------------

_TIMESTAMPS = ["created_at", "updated_at"]


def _strict_user(spec: dict[str, Any]) -> None:
    # §4.3: the name fields are strings (omitted when empty); picture an http(s) URL.
    props = node_at(spec, _S + "UserBase/properties")
    for key in ("name", "given_name", "family_name"):
        replace(spec, _S + f"UserBase/properties/{key}", ABSENT, {"type": "string", "minLength": 1})
    uri = {"type": "string", "format": "uri", "maxLength": 2048, "pattern": "^https?://"}
    replace(spec, _S + "UserBase/properties/picture", ABSENT, uri)
    if "metadata" in props:
        raise CorrectionError("UserBase documents metadata now")


def _strict_parts(spec: dict[str, Any]) -> None:
    # §4.3: every part of the User object has all its keys.
    replace(spec, _S + "Username/required", ABSENT, ["id", "username", *_TIMESTAMPS])
    replace(spec, _S + "Password/required", ABSENT, ["id", *_TIMESTAMPS])
    replace(
        spec,
        _S + "Identity/required",
        ABSENT,
        ["id", "provider_id", "provider_name", *_TIMESTAMPS],
    )
    for name in ("public_metadata", "private_metadata", "unsafe_metadata"):
        pointer = _S + f"UserMetadata/properties/{name}/nullable"
        replace(spec, pointer, ABSENT, False)


def _strict_audit_log(spec: dict[str, Any]) -> None:
    # §4.3.9: details is an object or null; hankoflow never leaks Hanko's "TenantID" key.
    pointer = _S + "AuditLog/properties/details"
    replace(spec, pointer, ABSENT, {"type": "object", "nullable": True})
    replace(spec, _S + "AuditLog/properties/TenantID", ABSENT, {"not": {}})


def _strict_session(spec: dict[str, Any]) -> None:
    # §1.10: the session JSON has all eight keys.
    pointer = _S + "Session/required"
    required = node_at(spec, pointer)
    replace(spec, pointer, required, [*required, "user_agent", "ip_address", "expires_at"])


def _strict_webhook(spec: dict[str, Any]) -> None:
    # §1.17: the webhook JSON has all its keys, each event {"id", "event"}.
    keys = ["id", "callback", "enabled", "failures", "expires_at", "events", *_TIMESTAMPS]
    replace(spec, _S + "DatabaseWebhook/required", ABSENT, keys)
    replace(spec, _S + "DatabaseWebhookEvent/required", ABSENT, ["id", "event"])


STRICTNESS: tuple[Correction, ...] = (
    Correction("platform §4.3", "user name fields", _strict_user),
    Correction("platform §4.3", "user parts have all their keys", _strict_parts),
    Correction("platform §4.3.9", "audit log details; no TenantID", _strict_audit_log),
    Correction("platform §1.10", "session keys required", _strict_session),
    Correction("platform §1.17", "webhook keys required", _strict_webhook),
)


def apply_corrections(spec: dict[str, Any]) -> dict[str, Any]:
    """Apply ``CORRECTIONS``, then ``STRICTNESS``, in place; CorrectionError if one is stale."""
    return apply_entries(spec, (*CORRECTIONS, *STRICTNESS))


@functools.lru_cache(maxsize=4)
def _compiled(path: Path) -> Compiled:
    return compile_document(apply_corrections(read_admin_spec(path)), _BASE_URI)


def load_admin_spec(path: Path | None = None) -> dict[str, Any]:
    """The corrected document (cached: treat as read-only)."""
    return _compiled((Path(path) if path else default_spec_path()).resolve()).spec


# --- validation ---------------------------------------------------------------------------------


def _template_for(spec: dict[str, Any], path: str, strip: str = "") -> str | None:
    path = path.split("?", 1)[0]
    if strip and path.startswith(strip.rstrip("/")):
        path = path[len(strip.rstrip("/")) :] or "/"
    if path in spec["paths"]:
        return path  # a template itself, or a path without parameters
    for template in spec["paths"]:
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            return template
    return None


def _response(spec: dict[str, Any], template: str, method: str, status: int) -> tuple[str, Any]:
    """The pointer and (resolved) response object documented for the answer, or a problem."""
    operation = spec["paths"][template][method]
    code = str(status)
    if code in operation["responses"]:
        pointer = _op(template, method) + f"/responses/{code}"
    elif status in EXTRA_STATUSES or (method, template, status) in EXTRA_RESPONSES:
        pointer = _ERROR
    else:
        raise LookupError(
            f"{method.upper()} {template} documents no response {status} "
            f"({sorted(operation['responses'])})"
        )
    response = node_at(spec, pointer)
    while "$ref" in response:
        pointer = response["$ref"].lstrip("#")
        response = node_at(spec, pointer)
    return pointer, response


def admin_response_errors(
    method: str,
    path: str,
    status: int,
    body: Any,
    *,
    headers: Mapping[str, str] | None = None,
    content_type: str | None = None,
    strip: str = "",
) -> list[str]:
    """Readable problems of ``body`` (parsed JSON, the text of a non-JSON answer, or None when
    empty) as the answer ``status`` to ``METHOD path``. ``headers`` and ``content_type``, when
    given, are checked too; ``strip`` is the mount prefix to remove from ``path``."""
    compiled = _compiled(default_spec_path().resolve())
    spec = compiled.spec
    template = _template_for(spec, path, strip)
    method = method.lower()
    head = method == "head"
    if head:
        method = "get"  # HEAD answers as GET without a body
    if template is None or method not in spec["paths"][template]:
        return [f"openapi-admin.yaml documents no {method.upper()} {path}"]
    try:
        pointer, response = _response(spec, template, method, status)
    except LookupError as exc:
        return [str(exc)]
    problems = list(_header_problems(response, headers))
    content = response.get("content", {})
    if head or not content:
        if body not in (None, "", b"") and not head:
            problems.append(f"{status} documents no body, got {body!r:.200}")
        return problems
    kind = next(iter(content))
    if content_type is not None and content_type.split(";")[0].strip() != kind:
        problems.append(f"content type {content_type!r}, documented {kind!r}")
    if kind != "application/json":
        if not isinstance(body, str):
            problems.append(f"{status} documents a {kind} body, got {body!r:.200}")
        return problems
    if body is None:
        return [*problems, f"{status} must have a JSON body"]
    media = kind.replace("/", "~1")
    validator = compiled.validator_cls(
        {"$ref": f"{_BASE_URI}#{pointer}/content/{media}/schema"},
        registry=compiled.registry,
        format_checker=FORMATS,
    )
    problems.extend(line for error in validator.iter_errors(body) for line in describe(error))
    problems.extend(_invariants(status, body))
    return sorted(dict.fromkeys(problems))


def _header_problems(response: dict[str, Any], headers: Mapping[str, str] | None) -> Iterator[str]:
    if headers is None:
        return
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in response.get("headers", {}):
        value = lowered.get(name.lower())
        if value is None:
            yield f"header {name} is missing"
        elif name.lower() == "x-total-count" and not value.isdigit():
            yield f"header {name}: {value!r} is not a count"
        elif name.lower() == "link" and not re.fullmatch(
            r'<[^>]+>; rel="(first|last|next|prev)"(,<[^>]+>; rel="(first|last|next|prev)")*', value
        ):
            yield f"header {name}: {value!r} is not Hanko's Link list"


def _invariants(status: int, body: Any) -> Iterator[str]:
    if status >= 400 and isinstance(body, dict) and body.get("code") != status:
        yield f"$.code: {body.get('code')!r} differs from the HTTP status {status}"


def assert_valid_admin_response(
    method: str,
    path: str,
    status: int,
    body: Any,
    *,
    headers: Mapping[str, str] | None = None,
    content_type: str | None = None,
    strip: str = "",
) -> None:
    """Fail unless ``body`` is a valid answer ``status`` to ``METHOD path`` (see
    ``admin_response_errors``)."""
    problems = admin_response_errors(
        method, path, status, body, headers=headers, content_type=content_type, strip=strip
    )
    if problems:
        raise AssertionError(
            f"{method.upper()} {path} -> {status} does not match openapi-admin.yaml "
            "(with hankoflow's corrections):\n  " + "\n  ".join(problems)
        )


def parsed_body(response: Any) -> Any:
    """A Django test-client response's body: JSON parsed, other text as text, None if empty."""
    if not response.content:
        return None
    if response.get("Content-Type", "").startswith("application/json"):
        return json.loads(response.content)
    return response.content.decode("utf-8", "replace")


def check(response: Any, method: str, path: str, *, strip: str = "") -> Any:
    """Validate a Django test-client response (body, content type, documented headers); returns
    its body (``parsed_body``)."""
    body = parsed_body(response)
    headers = dict(response.headers.items())
    assert_valid_admin_response(
        method,
        path,
        response.status_code,
        body,
        headers=headers,
        content_type=response.get("Content-Type") if response.content else None,
        strip=strip,
    )
    return body
