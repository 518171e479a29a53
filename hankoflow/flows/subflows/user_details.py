"""``user_details``: identifiers a user still lacks (flow-api.md §4.0.4)."""

from hankoflow import names as n
from hankoflow.actions.user_details import EmailAddressSet, SkipEmail, SkipUsername, UsernameCreate
from hankoflow.engine import SubFlow

user_details = (
    SubFlow(n.SUBFLOW_USER_DETAILS)
    .state(n.STATE_ONBOARDING_USERNAME, UsernameCreate, SkipUsername)
    .state(n.STATE_ONBOARDING_EMAIL, EmailAddressSet, SkipEmail)
)
