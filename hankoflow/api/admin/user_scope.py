"""What the admin API's resources of one user share (platform.md §4.3 intro): path ids, the
user they name, Hanko's error bodies (``base.HankoError``) and the JSON body.

Path ids that are no UUID answer 400; the ids of emails and sessions must be version-4 UUIDs, as
Hanko's validator demands. An unknown user answers 404 ``"user not found"``.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from rest_framework.request import Request

from hankoflow.api.admin.base import AdminView, HankoError
from hankoflow.api.admin.base import env as request_env
from hankoflow.http.request import RequestEnv
from hankoflow.models import Account
from hankoflow.services import accounts

USER_NOT_FOUND = "user not found"
USER_ID_INVALID = "failed to parse userId as uuid"
MAX_DEPTH = 64  # metadata nests; nothing deeper fits its 3000 characters usefully


ApiError = HankoError
"""Raised by the resources' handlers: ``{"code": status, "message": message}``."""


def parse_uuid(value: str, message: str, *, v4: bool = False) -> uuid.UUID:
    """The UUID a path segment holds; ``ApiError(400, message)`` for anything else (and for
    another version than 4 when ``v4``)."""
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise ApiError(400, message) from None
    if v4 and (parsed.version != 4 or parsed.variant != uuid.RFC_4122):
        raise ApiError(400, message)
    return parsed


def user_or_404(user_id: str, *, invalid: str = USER_ID_INVALID) -> Account:
    """The account a path's user id names (``ApiError`` 400 / 404 otherwise)."""
    account = accounts.get(parse_uuid(user_id, invalid))
    if account is None:
        raise ApiError(404, USER_NOT_FOUND)
    return account


def json_body(request: Request) -> Any:
    """The request body as JSON (None when empty). 400 for malformed JSON, ``NaN``, nesting
    deeper than ``MAX_DEPTH`` and strings the database cannot store (NUL, lone surrogates)."""
    raw = request._request.body
    if not raw.strip():
        return None
    try:
        document = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ApiError(400, "invalid JSON body") from None
    _check_storable(document, 0)
    return document


def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object (an empty body: ``{}``); 400 for any other value."""
    data = json_body(request)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ApiError(400, "request body must be a JSON object")
    return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_storable(value: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ApiError(400, "the JSON is nested too deeply")
    if isinstance(value, str):
        if "\x00" in value or not _encodable(value):
            raise ApiError(400, "strings must be valid unicode without NUL characters")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key, depth)
            _check_storable(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_storable(item, depth + 1)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def optional_bool(body: dict[str, Any], key: str) -> bool:
    value = body.get(key, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ApiError(400, f"{key} must be a boolean")
    return value


class UserResourceView(AdminView):
    """An admin view of a user's resources: bodies are read by ``json_body``; ``self.env`` is
    the request's facts (its IP and user agent go into audit entries)."""

    parser_classes: list[Any] = []

    @property
    def env(self) -> RequestEnv:
        return request_env(self.request)
