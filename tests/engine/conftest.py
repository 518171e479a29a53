"""Fixtures for the engine's unit tests: plain Python, no database, no Django."""

import pytest

from hankoflow.engine import MemoryFlowStore

from .fakes import Harness


@pytest.fixture
def store() -> MemoryFlowStore:
    return MemoryFlowStore()


@pytest.fixture
def harness(store: MemoryFlowStore) -> Harness:
    """The test flow's engine over an empty in-memory store (see ``fakes.TEST_FLOW``)."""
    return Harness(store)


@pytest.fixture
def started(harness: Harness) -> Harness:
    """A harness whose flow was just started: state ``start``, ``second, third`` scheduled."""
    harness.start()
    harness.env.log.clear()
    return harness
