"""Reading a Flow API request body strictly (flow-api.md §1.3).

Anything a client can get wrong answers 4xx here, before a flow is touched: Hanko says 500
``technical_error`` for an unreadable body, we say 400 (or 413/415) in the same early-error shape.
Strings must be storable as they are (no NUL, no lone surrogates), so nothing that passes here can
make the database fail later.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest

from hankoflow import errors
from hankoflow.errors import FlowError

MAX_DEPTH = 32


class BodyError(Exception):
    def __init__(self, error: FlowError) -> None:
        super().__init__(error.cause or error.code)
        self.error = error


@dataclass(frozen=True)
class ActionBody:
    input_data: dict[str, Any] = field(default_factory=dict)
    csrf_token: str = ""


def read_action_body(request: HttpRequest, limit: int) -> ActionBody:
    raw = _read(request, limit)
    if not raw.strip():
        return ActionBody()  # like Hanko: no inputs, and the empty token fails the CSRF check
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise BodyError(errors.UNSUPPORTED_MEDIA_TYPE.with_cause("expected application/json"))
    document = _parse(raw)
    if not isinstance(document, dict):
        raise BodyError(errors.REQUEST_MALFORMED.with_cause("the body must be a JSON object"))
    input_data = document.get("input_data")
    csrf_token = document.get("csrf_token")
    if input_data is not None and not isinstance(input_data, dict):
        raise BodyError(errors.REQUEST_MALFORMED.with_cause("input_data must be an object"))
    if csrf_token is not None and not isinstance(csrf_token, str):
        raise BodyError(errors.REQUEST_MALFORMED.with_cause("csrf_token must be a string"))
    return ActionBody(input_data or {}, csrf_token or "")


def _read(request: HttpRequest, limit: int) -> bytes:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise BodyError(errors.REQUEST_MALFORMED.with_cause("bad Content-Length")) from None
    if declared > limit:
        raise BodyError(errors.REQUEST_TOO_LARGE.with_cause(f"the limit is {limit} bytes"))
    body = request.body
    if len(body) > limit:
        raise BodyError(errors.REQUEST_TOO_LARGE.with_cause(f"the limit is {limit} bytes"))
    return body


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
        document = json.loads(text, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BodyError(errors.REQUEST_MALFORMED.with_cause(f"invalid JSON: {exc}")) from None
    _check_storable(document, 0)
    return document


def _check_storable(value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise BodyError(errors.REQUEST_MALFORMED.with_cause("the JSON is nested too deeply"))
    if isinstance(value, str):
        _check_text(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key)
            _check_storable(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_storable(item, depth + 1)


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise BodyError(errors.REQUEST_MALFORMED.with_cause("NUL characters are not allowed"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BodyError(errors.REQUEST_MALFORMED.with_cause("invalid unicode")) from None
