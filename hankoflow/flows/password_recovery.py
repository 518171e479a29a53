"""The ``password_recovery`` flow (beyond Hanko, issue 15): recover a password on its own.

Address → emailed ``recovery`` passcode → (the enrolled second factor) → new password →
``success`` with a session when ``PASSWORD_RECOVERY.AUTO_LOGIN``, else ``password_changed``. The
passcode, second-factor and new-password states are the login flow's (``credential_usage``,
``mfa_usage``), with their actions, budgets and rate limits; the new password ends the user's
other sessions as the login flow's recovery does. Hanko offers recovery inside login only.
"""

from hankoflow import names as n
from hankoflow.actions.password_recovery import ContinueWithRecoveryIdentifier
from hankoflow.engine import Flow
from hankoflow.flows.subflows.capabilities import capabilities
from hankoflow.flows.subflows.credential_usage import credential_usage
from hankoflow.flows.subflows.mfa_usage import mfa_usage
from hankoflow.hooks.password_recovery import ScheduleRecoveryStates
from hankoflow.hooks.success import DetermineLoginAMR, GetUserData, IssueSession

password_recovery = (
    Flow(n.FLOW_PASSWORD_RECOVERY)
    .state(n.STATE_PASSWORD_RECOVERY_INIT, ContinueWithRecoveryIdentifier)
    .state(n.STATE_PASSWORD_CHANGED)
    .state(n.STATE_SUCCESS)
    .state(n.STATE_ERROR)
    .subflows(capabilities, credential_usage, mfa_usage)
    .before_state(n.STATE_SUCCESS, GetUserData, DetermineLoginAMR, IssueSession)
    .after_flow(n.SUBFLOW_CREDENTIAL_USAGE, ScheduleRecoveryStates)
    .initial_states(n.STATE_PREFLIGHT, n.STATE_PASSWORD_RECOVERY_INIT)
    .error_state(n.STATE_ERROR)
    .build()
)
