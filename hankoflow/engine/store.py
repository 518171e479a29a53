"""How the engine persists flows, without knowing where: the ``FlowStore`` protocol.

A store loads a flow for a step and saves it with an optimistic version check, in the step's
transaction (flow-api.md §1.8-1.9): a store may lock the flow for the step, or rely on the check
alone, so that a rival that saved first makes the save fail and the step roll back.
``MemoryFlowStore`` serves the engine's own unit tests; the Django stores (database, Redis) live in
``hankoflow.services.flow_store``.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from hankoflow.engine.stash import Stash

MAX_HISTORY = 100  # steps a store keeps per flow for inspection; a flow rarely takes 20


@dataclass
class FlowRecord:
    id: str
    flow_name: str
    stash: Stash
    csrf_token_hash: str  # the token itself is handed to the client, never stored
    expires_at: datetime
    version: int = 0
    facts: dict[str, Any] = field(default_factory=dict)  # caller's extras, e.g. the language
    history: list[dict[str, Any]] = field(default_factory=list)  # steps taken, oldest first
    stored: bool = True  # False: started without storing it, at its first action (unstored_start)


class StaleFlowError(Exception):
    """The flow changed since it was loaded: another request completed a step first."""


class FlowStore(Protocol):
    def create(self, record: FlowRecord) -> None: ...

    def locked(self, flow_id: str, action: str = "", new: FlowRecord | None = None) -> Any:
        """Context manager: open the step's transaction and yield the record (None if unknown),
        locked or to be saved under the version check. ``action``: the name of the action the
        step runs, a hint a store may use to choose how to read.

        ``new``: the flow is one the engine started without storing it (``stored`` False), at
        what its client says is the first action. The store yields ``new`` (or its own copy of
        it) and stores it with the step, refusing the step (``StaleFlowError``) if another flow
        with its id exists by then, whoever stored it: its start token was used already.

        A store that refuses rather than waits raises ``StaleFlowError`` for a busy flow."""
        ...

    def save(self, record: FlowRecord) -> None:
        """Write the record if its stored version is ``record.version - 1``, or, for a record
        not stored yet, if no flow has its id."""
        ...

    def peek(self, flow_id: str) -> FlowRecord | None:
        """The stored record, read without a lock (None if unknown); for readers, not steps."""
        ...


class MemoryFlowStore:
    """A process-local store for tests: one lock per store, copies in and out."""

    def __init__(self) -> None:
        self.records: dict[str, FlowRecord] = {}
        self._lock = threading.Lock()

    def create(self, record: FlowRecord) -> None:
        self.records[record.id] = copy.deepcopy(record)

    @contextmanager
    def locked(
        self, flow_id: str, action: str = "", new: FlowRecord | None = None
    ) -> Iterator[FlowRecord | None]:
        with self._lock:
            stored = self.records.get(flow_id)
            if new is not None:
                if stored is not None:
                    raise StaleFlowError(flow_id)
                yield new
                return
            yield copy.deepcopy(stored) if stored else None

    def peek(self, flow_id: str) -> FlowRecord | None:
        stored = self.records.get(flow_id)
        return copy.deepcopy(stored) if stored else None

    def save(self, record: FlowRecord) -> None:
        stored = self.records.get(record.id)
        if record.stored:
            if stored is None or stored.version != record.version - 1:
                raise StaleFlowError(record.id)
        elif stored is not None:
            raise StaleFlowError(record.id)
        record.stored = True
        self.records[record.id] = copy.deepcopy(record)
