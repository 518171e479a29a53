"""User metadata: the public, private and unsafe JSON objects of an account (platform.md §1.14).

Each category is stored on ``Account`` as compact JSON object text, at most ``LIMIT``
characters; NULL and ``"{}"`` both mean empty. Changes are RFC 7386 JSON merge patches: the
profile's ``patch_metadata`` (flow-api.md §4.3.2 #11) patches the unsafe category, the admin
API (platform.md §4.3.6) all three. The profile data (§4.6.1) reads ``profile_metadata``.
"""

from __future__ import annotations

import json
from typing import Any

from hankoflow.models import Account

PUBLIC = "public_metadata"
PRIVATE = "private_metadata"
UNSAFE = "unsafe_metadata"
CATEGORIES = (PUBLIC, PRIVATE, UNSAFE)

LIMIT = 3000
"""Characters (code points, JSON syntax included) of one stored category, as Hanko counts."""

NOT_AN_OBJECT = "patch metadata must be an object or null"
TOO_LARGE = f"metadata must not exceed character limit ({LIMIT})"


class MetadataInvalid(ValueError):
    """A patch that cannot be applied; ``cause`` is Hanko's wording for it."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


def read(account: Account, category: str) -> dict[str, Any] | None:
    """The category's object, or None when it is empty."""
    return _load(getattr(account, _field(category)))


def profile_metadata(account: Account) -> dict[str, Any] | None:
    """``metadata`` of the profile data (flow-api.md §4.6.1): the public and unsafe objects
    the user may read, each omitted when empty; None when both are."""
    data = {
        category: value
        for category in (PUBLIC, UNSAFE)
        if (value := read(account, category)) is not None
    }
    return data or None


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: ``patch`` applied to ``target`` (neither is modified). An object patch merges
    key by key, a null value removing its key; any other patch replaces the target."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def patch(account: Account, category: str, change: dict[str, Any] | None) -> dict[str, Any] | None:
    """Apply a merge patch to one category and save it: None clears it, an object is merged
    into it. Raises ``MetadataInvalid`` (nothing saved) when the result is over ``LIMIT``;
    returns the new object (None when empty)."""
    field = _field(category)
    if change is None:
        merged = None
    elif isinstance(change, dict):
        try:
            merged = merge_patch(read(account, category) or {}, change)
        except RecursionError:  # nested deeper than any object within the limit can be
            raise MetadataInvalid(TOO_LARGE) from None
    else:
        raise MetadataInvalid(NOT_AN_OBJECT)
    text = dump(merged)
    if text is not None and len(text) > LIMIT:
        raise MetadataInvalid(TOO_LARGE)
    setattr(account, field, text)
    account.save(update_fields=[field])
    return merged or None


def parse_patch(value: Any) -> dict[str, Any] | None:
    """The merge patch a client sent: a JSON object, or null to clear. Raises
    ``MetadataInvalid`` for anything else.

    Hanko reads the input as text, so a JSON string holding an object's text (or ``null``) is
    taken as that value too.
    """
    if isinstance(value, str):
        text = value.strip()
        if text != "null" and not (text.startswith("{") and text.endswith("}")):
            raise MetadataInvalid(NOT_AN_OBJECT)
        try:
            value = json.loads(text)
        except (ValueError, RecursionError):
            # Hanko: JSON that only looks like an object fails later, as a technical error.
            raise MetadataInvalid(NOT_AN_OBJECT) from None
    if value is None or isinstance(value, dict):
        return value
    raise MetadataInvalid(NOT_AN_OBJECT)


def dump(value: dict[str, Any] | None) -> str | None:
    """The stored text of an object: compact JSON; None for an empty one."""
    if not value:
        return None
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _load(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None  # written by hand past this module: shown as empty rather than failing
    return value if isinstance(value, dict) and value else None


def _field(category: str) -> str:
    if category not in CATEGORIES:
        raise ValueError(f"unknown metadata category {category!r}")
    return category
