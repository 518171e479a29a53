"""``.User.Metadata.Public "path"`` / ``.Unsafe "path"``: a value picked out of a metadata object
by a gjson-style path (platform.md §2.1.2), as Hanko's templates read it.

The part of gjson's path syntax that names one value: keys separated by ``.`` (``\\.`` for a dot
inside a key) and array indexes (``tags.0``). The result is text like gjson's ``String()``: a
string as it is, anything else as compact JSON, nothing (``""``) when the path selects nothing.
No path: the whole object.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

_SEPARATOR = re.compile(r"(?<!\\)\.")


def metadata(public: str | None, unsafe: str | None) -> dict[str, Callable[..., str]] | None:
    """``.User.Metadata`` from the stored public and unsafe objects (JSON text or NULL): None
    when both are empty, as for a Hanko user without metadata (a template reading it is then
    skipped). Private metadata is never available to templates (platform.md §2.1.2)."""
    if not (_parse(public or "") or _parse(unsafe or "")):
        return None
    return {"Public": selector(public), "Unsafe": selector(unsafe)}


def selector(stored: str | Mapping[str, Any] | None) -> Callable[..., str]:
    """A template method over a metadata object, given as stored (JSON text, NULL) or parsed:
    ``select(path="")`` -> text."""
    document = _parse(stored) if isinstance(stored, str) else stored

    def select(path: str = "") -> str:
        return as_text(pick(document, path))

    return select


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def pick(document: Any, path: str) -> Any:
    """The value ``path`` names in ``document``, or None."""
    if document is None:
        return None
    if not path:
        return document
    value = document
    for part in (p.replace("\\.", ".") for p in _SEPARATOR.split(str(path))):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
        if value is None:
            return None
    return value


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
