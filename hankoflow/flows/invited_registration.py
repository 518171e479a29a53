"""The ``invited_registration`` flow (beyond Hanko, issue 15): sign up with an invitation.

Invitation code and address → credentials as in ``registration`` (passkey and/or password per
``PASSKEY``/``PASSWORD.ACQUIRE_ON_REGISTRATION``, then MFA per ``MFA.ACQUIRE_ON_REGISTRATION``) →
``success``: the invitation is consumed, the account created with the invited address verified,
and a session issued. It works while ``ACCOUNT.ALLOW_SIGNUP`` is off: that is what invitations
are for. Hanko has no invitations.
"""

from hankoflow import names as n
from hankoflow.actions.invitations import RedeemInvitation
from hankoflow.engine import Flow
from hankoflow.flows.subflows.capabilities import capabilities
from hankoflow.flows.subflows.credential_onboarding import credential_onboarding
from hankoflow.flows.subflows.mfa_creation import mfa_creation
from hankoflow.hooks.invitations import AcceptInvitation
from hankoflow.hooks.success import DetermineRegistrationAMR, GetUserData, IssueSession

invited_registration = (
    Flow(n.FLOW_INVITED_REGISTRATION)
    .state(n.STATE_INVITED_REGISTRATION_INIT, RedeemInvitation)
    .state(n.STATE_SUCCESS)
    .state(n.STATE_ERROR)
    .subflows(capabilities, credential_onboarding, mfa_creation)
    .before_state(
        n.STATE_SUCCESS, AcceptInvitation, GetUserData, DetermineRegistrationAMR, IssueSession
    )
    .initial_states(n.STATE_PREFLIGHT, n.STATE_INVITED_REGISTRATION_INIT)
    .error_state(n.STATE_ERROR)
    .build()
)
