"""Named, checked patches of a loaded OpenAPI document: how the correction tables are written.

Where Hanko's Go server and its published document disagree we follow the server, so each
checker patches the loaded document with a table of ``Correction`` entries (one per defect, citing
the spec section that lists it). ``replace`` first checks that the defect is still there, so a
fixed upstream document makes an entry fail loudly with ``CorrectionError`` instead of silently
rewriting good schema.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SCHEMAS = "#/components/schemas/"

ABSENT: Any = object()
"""``expected`` value of ``replace`` for a key the document does not have (yet)."""


class CorrectionError(RuntimeError):
    """A correction no longer matches the document: re-check the spec section and the table."""


@dataclass(frozen=True)
class Correction:
    """One named patch of the loaded document; ``ref`` is the spec section it implements."""

    ref: str
    summary: str
    apply: Callable[[dict[str, Any]], None]


def apply_entries(spec: dict[str, Any], entries: tuple[Correction, ...]) -> dict[str, Any]:
    """Apply correction entries in order, naming the entry that no longer fits the document."""
    for entry in entries:
        try:
            entry.apply(spec)
        except CorrectionError as exc:
            raise CorrectionError(f"{entry.ref} ({entry.summary}): {exc}") from exc
    return spec


def node_at(spec: Any, pointer: str) -> Any:
    """The node a JSON pointer (``/a/b`` or ``#/a/b``) names; CorrectionError if there is none."""
    node = spec
    for token in pointer.lstrip("#").split("/")[1:]:
        token = token.replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(token)] if isinstance(node, list) else node[token]
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise CorrectionError(f"{pointer} does not exist") from exc
    return node


def replace(spec: dict[str, Any], pointer: str, expected: Any, new: Any) -> None:
    """Set ``pointer`` to ``new`` after checking it still holds ``expected`` (or is ABSENT)."""
    parent_pointer, _, key = pointer.rpartition("/")
    parent = node_at(spec, parent_pointer)
    if isinstance(parent, list):
        current = node_at(spec, pointer)
        parent[int(key)] = _check(pointer, current, expected, new)
    else:
        parent[key] = _check(pointer, parent.get(key, ABSENT), expected, new)


def _check(pointer: str, current: Any, expected: Any, new: Any) -> Any:
    if current is not expected and current != expected:
        shown = "<absent>" if current is ABSENT else repr(current)
        raise CorrectionError(f"{pointer}: expected {expected!r}, found {shown}")
    return new


def ref(name: str) -> dict[str, str]:
    """A ``$ref`` to a component schema."""
    return {"$ref": SCHEMAS + name}
