"""Profile actions on the username, the password and the user's metadata (flow-api.md §4.3.2
#8-#11, #14-#16)."""

from __future__ import annotations

from hankoflow import names as n
from hankoflow.engine import Action, ActionSetup, FlowContext, Outcome


class PasswordCreate(Action):
    # Issue 12 in progress: not offered until built.
    name = n.ACTION_PASSWORD_CREATE
    description = "Create a new password."

    def initialize(self, setup: ActionSetup) -> None:
        setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        raise NotImplementedError


class PasswordDelete(Action):
    # Issue 12 in progress: not offered until built.
    name = n.ACTION_PASSWORD_DELETE
    description = "Delete a password."

    def initialize(self, setup: ActionSetup) -> None:
        setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        raise NotImplementedError


class PasswordUpdate(Action):
    # Issue 12 in progress: not offered until built.
    name = n.ACTION_PASSWORD_UPDATE
    description = "Update an existing password."

    def initialize(self, setup: ActionSetup) -> None:
        setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        raise NotImplementedError


class PatchMetadata(Action):
    # Issue 12 in progress: not offered until built.
    name = n.ACTION_PATCH_METADATA
    description = "Patch the (unsafe) metadata of the user"

    def initialize(self, setup: ActionSetup) -> None:
        setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        raise NotImplementedError


class UsernameCreate(Action):
    # Issue 12 in progress: not offered until built.
    name = n.ACTION_USERNAME_CREATE
    description = "Create a new username."

    def initialize(self, setup: ActionSetup) -> None:
        setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        raise NotImplementedError


class UsernameDelete(Action):
    # Issue 12 in progress: not offered until built.
    name = n.ACTION_USERNAME_DELETE
    description = "Delete the username of a user."

    def initialize(self, setup: ActionSetup) -> None:
        setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        raise NotImplementedError


class UsernameUpdate(Action):
    # Issue 12 in progress: not offered until built.
    name = n.ACTION_USERNAME_UPDATE
    description = "Update an existing username."

    def initialize(self, setup: ActionSetup) -> None:
        setup.suspend()

    def execute(self, ctx: FlowContext) -> Outcome:
        raise NotImplementedError
