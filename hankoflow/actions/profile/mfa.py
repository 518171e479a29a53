"""Profile actions on the authenticator app (flow-api.md §4.3.2 #2, #7)."""

from __future__ import annotations

from hankoflow import names as n
from hankoflow.engine import Action, ActionSetup, FlowContext, Outcome


class ContinueToOtpSecretCreation(Action):
    # Issue 12 in progress: not offered until built.
    name = n.ACTION_CONTINUE_TO_OTP_SECRET_CREATION
    description = "Create an OTP secret"

    def initialize(self, setup: ActionSetup) -> None:
        setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        raise NotImplementedError


class OtpSecretDelete(Action):
    # Issue 12 in progress: not offered until built.
    name = n.ACTION_OTP_SECRET_DELETE
    description = "Delete an OTP secret"

    def initialize(self, setup: ActionSetup) -> None:
        setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        raise NotImplementedError
