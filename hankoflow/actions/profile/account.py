"""Profile actions on the account and its sessions (flow-api.md §4.3.2 #1, #19)."""

from __future__ import annotations

from hankoflow import names as n
from hankoflow.engine import Action, ActionSetup, FlowContext, Outcome


class AccountDelete(Action):
    # Issue 12 in progress: not offered until built.
    name = n.ACTION_ACCOUNT_DELETE
    description = "Delete an account."

    def initialize(self, setup: ActionSetup) -> None:
        setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        raise NotImplementedError


class SessionDelete(Action):
    # Issue 12 in progress: not offered until built.
    name = n.ACTION_SESSION_DELETE
    description = "Delete a session."

    def initialize(self, setup: ActionSetup) -> None:
        setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        raise NotImplementedError
