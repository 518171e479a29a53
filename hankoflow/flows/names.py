"""Wire names of Hanko's flows, states, actions and stash keys (flow-api.md §4, Appendix B).

Never type these strings anywhere else.
"""

# Flows
FLOW_LOGIN = "login"
FLOW_REGISTRATION = "registration"
FLOW_PROFILE = "profile"
FLOW_TOKEN_EXCHANGE = "token_exchange"  # noqa: S105 - a flow name

# Sub-flows
SUBFLOW_CAPABILITIES = "capabilities"
SUBFLOW_CREDENTIAL_USAGE = "credential_usage"

# States
STATE_PREFLIGHT = "preflight"
STATE_LOGIN_INIT = "login_init"
STATE_REGISTRATION_INIT = "registration_init"
STATE_PROFILE_INIT = "profile_init"
STATE_THIRDPARTY = "thirdparty"
STATE_SUCCESS = "success"
STATE_ERROR = "error"

# Actions
ACTION_REGISTER_CLIENT_CAPABILITIES = "register_client_capabilities"
ACTION_REMEMBER_ME = "remember_me"

# Stash keys
STASH_WEBAUTHN_AVAILABLE = "webauthn_available"
STASH_WEBAUTHN_CONDITIONAL_MEDIATION_AVAILABLE = "webauthn_conditional_mediation_available"
STASH_WEBAUTHN_PLATFORM_AUTHENTICATOR_AVAILABLE = "webauthn_platform_authenticator_available"
STASH_SECURITY_KEY_ATTACHMENT_SUPPORTED = "security_key_attachment_supported"
STASH_REMEMBER_ME_SELECTED = "remember_me_selected"
