"""A generic, framework-free flow engine (Hanko's "flowpilot", flow-api.md §2).

It knows nothing of HTTP, Django or Hanko's particular flows: flows are declared with
``Flow``/``SubFlow``, made of ``Action`` and ``Hook`` classes, run by ``FlowEngine`` against a
``FlowStore``, and produce neutral ``FlowResult`` objects that a renderer turns into a wire format.
"""

from hankoflow.engine.action import Action, Back, Hook, Skip
from hankoflow.engine.context import ActionSetup, FlowContext
from hankoflow.engine.executor import ActionRef, FlowEngine
from hankoflow.engine.flow import Flow, FlowDefinition, StateDefinition, SubFlow, UnknownStateError
from hankoflow.engine.inputs import MISSING, AllowedValue, Input
from hankoflow.engine.outcome import Continue, Fail, Outcome, Revert, StepRefused
from hankoflow.engine.request import RequestFacts
from hankoflow.engine.result import ActionView, FlowResult
from hankoflow.engine.stash import HistoryItem, Stash
from hankoflow.engine.store import FlowRecord, FlowStore, MemoryFlowStore, StaleFlowError
from hankoflow.engine.tokens import hash_token, new_csrf_token, random_alphanumeric

__all__ = [
    "MISSING",
    "Action",
    "ActionRef",
    "ActionSetup",
    "ActionView",
    "AllowedValue",
    "Back",
    "Continue",
    "Fail",
    "Flow",
    "FlowContext",
    "FlowDefinition",
    "FlowEngine",
    "FlowRecord",
    "FlowResult",
    "FlowStore",
    "HistoryItem",
    "Hook",
    "Input",
    "MemoryFlowStore",
    "Outcome",
    "RequestFacts",
    "Revert",
    "Skip",
    "StaleFlowError",
    "StepRefused",
    "Stash",
    "StateDefinition",
    "SubFlow",
    "UnknownStateError",
    "hash_token",
    "new_csrf_token",
    "random_alphanumeric",
]
