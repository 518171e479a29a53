"""``credential_onboarding``: add a credential after sign-up or sign-in (flow-api.md §4.0.3).

Passkey onboarding (``credential_onboarding_chooser``, ``onboarding_create_passkey``, …) joins
with issue #5.
"""

from hankoflow.actions.credential_onboarding import RegisterPassword, SkipPasswordCreation
from hankoflow.engine import Back, SubFlow
from hankoflow.flows import names as n

credential_onboarding = SubFlow(n.SUBFLOW_CREDENTIAL_ONBOARDING).state(
    n.STATE_PASSWORD_CREATION, RegisterPassword, SkipPasswordCreation, Back
)
