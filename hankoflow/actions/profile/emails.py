"""Profile actions on email addresses (flow-api.md §4.3.2 #3-#6)."""

from __future__ import annotations

from hankoflow import names as n
from hankoflow.engine import Action, ActionSetup, FlowContext, Outcome


class EmailCreate(Action):
    # Issue 12 in progress: not offered until built.
    name = n.ACTION_EMAIL_CREATE
    description = "Create an email address for the current session user."

    def initialize(self, setup: ActionSetup) -> None:
        setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        raise NotImplementedError


class EmailDelete(Action):
    # Issue 12 in progress: not offered until built.
    name = n.ACTION_EMAIL_DELETE
    description = "Delete an email address."

    def initialize(self, setup: ActionSetup) -> None:
        setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        raise NotImplementedError


class EmailSetPrimary(Action):
    # Issue 12 in progress: not offered until built.
    name = n.ACTION_EMAIL_SET_PRIMARY
    description = "Sets a an email address as the primary email address."

    def initialize(self, setup: ActionSetup) -> None:
        setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        raise NotImplementedError


class EmailVerify(Action):
    # Issue 12 in progress: not offered until built.
    name = n.ACTION_EMAIL_VERIFY
    description = "Verify an email."

    def initialize(self, setup: ActionSetup) -> None:
        setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        raise NotImplementedError
