"""Server-side flow state: current state, schedule, history and free-form data (flow-api.md §2.2).

The stash never leaves the server. ``scheduled`` is kept in natural order (first = next state),
``history`` holds a snapshot of every state left behind so ``back`` can restore it, and keys that
start with ``sticky.`` survive ``back``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

STICKY_PREFIX = "sticky."


@dataclass
class HistoryItem:
    state: str
    prev_state: str | None
    scheduled: list[str]
    data: dict[str, Any]
    revertible: bool

    def copy(self) -> HistoryItem:
        return HistoryItem(
            self.state, self.prev_state, list(self.scheduled), _copied(self.data), self.revertible
        )

    def to_dict(self, *, copy: bool = True) -> dict[str, Any]:
        return {
            "state": self.state,
            "prev_state": self.prev_state,
            "scheduled": list(self.scheduled),
            "data": _copied(self.data) if copy else self.data,
            "revertible": self.revertible,
        }


@dataclass
class Stash:
    state: str
    prev_state: str | None = None
    scheduled: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    history: list[HistoryItem] = field(default_factory=list)

    # --- data access ---------------------------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)

    def has(self, key: str) -> bool:
        return key in self.data

    # --- history -------------------------------------------------------------------------------

    @property
    def can_revert(self) -> bool:
        return bool(self.history) and self.history[-1].revertible

    def visited(self, state: str) -> bool:
        return any(item.state == state for item in self.history)

    def sticky_data(self) -> dict[str, Any]:
        return {k: v for k, v in self.data.items() if k.startswith(STICKY_PREFIX)}

    # --- (de)serialisation ---------------------------------------------------------------------

    def snapshot(self) -> Stash:
        """A deep copy, taken at every step (``copy.deepcopy`` was a measurable part of one)."""
        return Stash(
            state=self.state,
            prev_state=self.prev_state,
            scheduled=list(self.scheduled),
            data=_copied(self.data),
            history=[item.copy() for item in self.history],
        )

    def to_dict(self, *, copy: bool = True) -> dict[str, Any]:
        """A deep copy as plain dicts and lists, what ``dataclasses.asdict`` gives, built faster.

        ``copy=False`` shares the data dicts instead, for a caller that only serialises the
        result (a store writing JSON): copying them was most of the stash's cost per step."""
        return {
            "state": self.state,
            "prev_state": self.prev_state,
            "scheduled": list(self.scheduled),
            "data": _copied(self.data) if copy else self.data,
            "history": [item.to_dict(copy=copy) for item in self.history],
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Stash:
        history = [HistoryItem(**item) for item in raw.get("history", [])]
        return cls(
            state=raw["state"],
            prev_state=raw.get("prev_state"),
            scheduled=list(raw.get("scheduled", [])),
            data=dict(raw.get("data", {})),
            history=history,
        )


_IMMUTABLE = (str, int, float, bool, type(None))


def _copied(value: Any) -> Any:
    """A deep copy of JSON-shaped data; anything else goes through ``copy.deepcopy``."""
    kind = type(value)
    if kind is dict:
        return {key: _copied(item) for key, item in value.items()}
    if kind is list:
        return [_copied(item) for item in value]
    if kind in _IMMUTABLE:
        return value
    return copy.deepcopy(value)
