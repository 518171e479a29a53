"""Wire names of Hanko's flows, states, actions and stash keys (flow-api.md §4, Appendix B).

Never type these strings anywhere else.
"""

# Flows
FLOW_LOGIN = "login"
FLOW_REGISTRATION = "registration"
FLOW_PROFILE = "profile"
FLOW_TOKEN_EXCHANGE = "token_exchange"

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

# --- credentials, identifiers and onboarding (flow-api.md §4.0.2-§4.0.4, §4.1, §4.2) ----------

SUBFLOW_CREDENTIAL_ONBOARDING = "credential_onboarding"
SUBFLOW_USER_DETAILS = "user_details"

STATE_LOGIN_METHOD_CHOOSER = "login_method_chooser"
STATE_LOGIN_PASSWORD = "login_password"
STATE_LOGIN_PASSWORD_RECOVERY = "login_password_recovery"
STATE_PASSCODE_CONFIRMATION = "passcode_confirmation"
STATE_PASSWORD_CREATION = "password_creation"
STATE_ONBOARDING_USERNAME = "onboarding_username"
STATE_ONBOARDING_EMAIL = "onboarding_email"

ACTION_CONTINUE_WITH_LOGIN_IDENTIFIER = "continue_with_login_identifier"
ACTION_CONTINUE_TO_PASSWORD_LOGIN = "continue_to_password_login"
ACTION_CONTINUE_TO_PASSCODE_CONFIRMATION = "continue_to_passcode_confirmation"
ACTION_CONTINUE_TO_PASSCODE_CONFIRMATION_RECOVERY = "continue_to_passcode_confirmation_recovery"
ACTION_PASSWORD_LOGIN = "password_login"
ACTION_PASSWORD_RECOVERY = "password_recovery"
ACTION_VERIFY_PASSCODE = "verify_passcode"
ACTION_RESEND_PASSCODE = "resend_passcode"
ACTION_REGISTER_LOGIN_IDENTIFIER = "register_login_identifier"
ACTION_REGISTER_PASSWORD = "register_password"
ACTION_USERNAME_CREATE = "username_create"
ACTION_EMAIL_ADDRESS_SET = "email_address_set"

STASH_USER_ID = "user_id"
STASH_EMAIL = "email"
STASH_USERNAME = "username"
STASH_USER_IDENTIFICATION = "user_identification"
STASH_EMAIL_VERIFIED = "email_verified"
STASH_LOGIN_METHOD = "login_method"
STASH_PASSCODE_TEMPLATE = "passcode_template"
STASH_PASSCODE_ID = "sticky.passcode_id"
STASH_PASSCODE_EMAIL = "sticky.passcode_email"
STASH_PW_RECOVERY_PENDING = "pw_recovery_pending"
STASH_NEW_PASSWORD = "new_password"  # a hash, never the password itself
STASH_USER_HAS_PASSWORD = "user_has_password"
STASH_USER_HAS_PASSKEY = "user_has_passkey"
STASH_USER_HAS_WEBAUTHN_CREDENTIAL = "user_has_webauthn_credential"
STASH_USER_HAS_SECURITY_KEY = "user_has_security_key"
STASH_USER_HAS_OTP_SECRET = "user_hat_otp_secret"  # sic: Hanko's spelling
STASH_USER_HAS_USERNAME = "user_has_username"
STASH_USER_HAS_EMAILS = "user_has_emails"
STASH_LOGIN_ONBOARDING_SCHEDULED = "login_onboarding_scheduled"
STASH_LOGIN_ONBOARDING_CREATE_EMAIL = "login_onboarding_create_email"
STASH_SKIP_USER_CREATION = "skip_user_creation"
STASH_REGISTRATION_AMR_PASSCODE = "registration.amr.passcode"
STASH_AMR = "amr"  # the authentication methods of the sign-in, e.g. ["otp", "totp"]
# Beyond Hanko: False when the login passkey proved presence only (no UV), so it is one factor.
STASH_PASSKEY_USER_VERIFIED = "passkey_user_verified"

LOGIN_METHOD_PASSWORD = "password"
LOGIN_METHOD_PASSCODE = "passcode"

# Passcode email templates (flow-api.md §4.0.2.11)
TEMPLATE_LOGIN = "login"
TEMPLATE_EMAIL_LOGIN_ATTEMPTED = "email_login_attempted"
TEMPLATE_RECOVERY = "recovery"
TEMPLATE_EMAIL_VERIFICATION = "email_verification"
TEMPLATE_EMAIL_REGISTRATION_ATTEMPTED = "email_registration_attempted"
TEMPLATES_WITHOUT_CODE = (TEMPLATE_EMAIL_LOGIN_ATTEMPTED, TEMPLATE_EMAIL_REGISTRATION_ATTEMPTED)

# --- passkeys, security keys, TOTP, device trust (flow-api.md §4.0.2-§4.0.7) -------------------

SUBFLOW_MFA_CREATION = "mfa_creation"
SUBFLOW_MFA_USAGE = "mfa_usage"
SUBFLOW_DEVICE_TRUST = "device_trust"

STATE_LOGIN_PASSKEY = "login_passkey"
STATE_CREDENTIAL_ONBOARDING_CHOOSER = "credential_onboarding_chooser"
STATE_ONBOARDING_CREATE_PASSKEY = "onboarding_create_passkey"
STATE_ONBOARDING_VERIFY_PASSKEY_ATTESTATION = "onboarding_verify_passkey_attestation"
STATE_MFA_METHOD_CHOOSER = "mfa_method_chooser"
STATE_MFA_OTP_SECRET_CREATION = "mfa_otp_secret_creation"
STATE_MFA_SECURITY_KEY_CREATION = "mfa_security_key_creation"
STATE_LOGIN_SECURITY_KEY = "login_security_key"
STATE_LOGIN_OTP = "login_otp"
STATE_DEVICE_TRUST = "device_trust"

ACTION_WEBAUTHN_GENERATE_REQUEST_OPTIONS = "webauthn_generate_request_options"
ACTION_WEBAUTHN_VERIFY_ASSERTION_RESPONSE = "webauthn_verify_assertion_response"
ACTION_WEBAUTHN_GENERATE_CREATION_OPTIONS = "webauthn_generate_creation_options"
ACTION_WEBAUTHN_VERIFY_ATTESTATION_RESPONSE = "webauthn_verify_attestation_response"
ACTION_CONTINUE_TO_PASSKEY_REGISTRATION = "continue_to_passkey_registration"
ACTION_CONTINUE_TO_PASSWORD_REGISTRATION = "continue_to_password_registration"
ACTION_CONTINUE_TO_OTP_SECRET_CREATION = "continue_to_otp_secret_creation"
ACTION_CONTINUE_TO_SECURITY_KEY_CREATION = "continue_to_security_key_creation"
ACTION_OTP_CODE_VERIFY = "otp_code_verify"
ACTION_OTP_CODE_VALIDATE = "otp_code_validate"
ACTION_CONTINUE_TO_LOGIN_OTP = "continue_to_login_otp"
ACTION_CONTINUE_TO_LOGIN_SECURITY_KEY = "continue_to_login_security_key"
ACTION_TRUST_DEVICE = "trust_device"

STASH_WEBAUTHN_SESSION_DATA_ID = "webauthn_session_data_id"
STASH_WEBAUTHN_CREDENTIALS = "webauthn_credentials"
STASH_CREATE_MFA_ONLY_CREDENTIAL = "create_mfa_only_credential"
STASH_MFA_METHOD = "mfa_method"
STASH_OTP_SECRET = "otp_secret"  # encrypted: services.crypto, purpose "totp-enrolment"
STASH_OTP_IMAGE_SRC = "otp_image_src"
STASH_OTP_LAST_VALIDATED_STEP = "otp_last_validated_step"
STASH_DEVICE_TRUST_GRANTED = "device_trust_granted"

LOGIN_METHOD_PASSKEY = "passkey"
MFA_METHOD_TOTP = "totp"
MFA_METHOD_SECURITY_KEY = "security_key"
NIL_USER_ID = "00000000-0000-0000-0000-000000000000"  # Hanko's "any user" for discoverable logins

# --- profile (flow-api.md §4.3) -----------------------------------------------------------------

STATE_WEBAUTHN_CREDENTIAL_VERIFICATION = "webauthn_credential_verification"
STATE_ACCOUNT_DELETED = "account_deleted"

ACTION_ACCOUNT_DELETE = "account_delete"
ACTION_EMAIL_CREATE = "email_create"
ACTION_EMAIL_DELETE = "email_delete"
ACTION_EMAIL_SET_PRIMARY = "email_set_primary"
ACTION_EMAIL_VERIFY = "email_verify"
ACTION_OTP_SECRET_DELETE = "otp_secret_delete"
ACTION_PASSWORD_CREATE = "password_create"
ACTION_PASSWORD_DELETE = "password_delete"
ACTION_PASSWORD_UPDATE = "password_update"
ACTION_PATCH_METADATA = "patch_metadata"
ACTION_SECURITY_KEY_CREATE = "security_key_create"
ACTION_SECURITY_KEY_DELETE = "security_key_delete"
ACTION_USERNAME_DELETE = "username_delete"
ACTION_USERNAME_UPDATE = "username_update"
ACTION_WEBAUTHN_CREDENTIAL_CREATE = "webauthn_credential_create"
ACTION_WEBAUTHN_CREDENTIAL_DELETE = "webauthn_credential_delete"
ACTION_WEBAUTHN_CREDENTIAL_RENAME = "webauthn_credential_rename"
ACTION_SESSION_DELETE = "session_delete"
ACTION_CONNECT_THIRDPARTY_OAUTH_PROVIDER = "connect_thirdparty_oauth_provider"
ACTION_DISCONNECT_THIRDPARTY_OAUTH_PROVIDER = "disconnect_thirdparty_oauth_provider"

# The account the profile flow was started for: every later step must carry a session of the
# same account (security-checks FL-10).
STASH_SESSION_USER_ID = "session_user_id"
# Re-authentication before a sensitive change (actions/profile/reauthentication.py): the method
# being asked for, and the second-factor states that may follow it (preferred first; [] for none).
STASH_REAUTHENTICATION_METHOD = "reauthentication.method"
STASH_REAUTHENTICATION_SECOND_FACTOR = "reauthentication.second_factor"

# --- third party (flow-api.md §4.0.2.4, §4.0.2.10, §4.4) --------------------------------------

ACTION_THIRDPARTY_OAUTH = "thirdparty_oauth"
ACTION_EXCHANGE_TOKEN = "exchange_token"

STASH_THIRD_PARTY_PROVIDER = "third_party_provider"
STASH_REGISTRATION_AMR_THIRD_PARTY = "registration.amr.used.third_party"
STASH_REGISTRATION_AMR_THIRD_PARTY_PROVIDER = "registration.amr.used.third_party_provider"

LOGIN_METHOD_THIRD_PARTY = "third_party"

# --- flow inspection (admin, manage.py hankoflow_flows) -----------------------------------------

# Stash keys whose values an operator never sees: ids that let a holder act (passcode, WebAuthn
# challenge), secrets, hashes and anything encrypted. Keys in neither list are redacted too
# unless their value is a plain flag or number (hankoflow.services.flow_inspection).
STASH_REDACTED = frozenset(
    {
        STASH_PASSCODE_ID,
        STASH_NEW_PASSWORD,
        STASH_WEBAUTHN_SESSION_DATA_ID,
        STASH_OTP_SECRET,
        STASH_OTP_IMAGE_SRC,
    }
)
STASH_SHOWN = frozenset(
    {
        STASH_WEBAUTHN_AVAILABLE,
        STASH_WEBAUTHN_CONDITIONAL_MEDIATION_AVAILABLE,
        STASH_WEBAUTHN_PLATFORM_AUTHENTICATOR_AVAILABLE,
        STASH_SECURITY_KEY_ATTACHMENT_SUPPORTED,
        STASH_REMEMBER_ME_SELECTED,
        STASH_USER_ID,
        STASH_EMAIL,
        STASH_USERNAME,
        STASH_USER_IDENTIFICATION,
        STASH_EMAIL_VERIFIED,
        STASH_LOGIN_METHOD,
        STASH_PASSCODE_TEMPLATE,
        STASH_PASSCODE_EMAIL,
        STASH_PW_RECOVERY_PENDING,
        STASH_USER_HAS_PASSWORD,
        STASH_USER_HAS_PASSKEY,
        STASH_USER_HAS_WEBAUTHN_CREDENTIAL,
        STASH_USER_HAS_SECURITY_KEY,
        STASH_USER_HAS_OTP_SECRET,
        STASH_USER_HAS_USERNAME,
        STASH_USER_HAS_EMAILS,
        STASH_LOGIN_ONBOARDING_SCHEDULED,
        STASH_LOGIN_ONBOARDING_CREATE_EMAIL,
        STASH_SKIP_USER_CREATION,
        STASH_REGISTRATION_AMR_PASSCODE,
        STASH_AMR,
        STASH_CREATE_MFA_ONLY_CREDENTIAL,
        STASH_MFA_METHOD,
        STASH_OTP_LAST_VALIDATED_STEP,
        STASH_DEVICE_TRUST_GRANTED,
        STASH_SESSION_USER_ID,
        STASH_THIRD_PARTY_PROVIDER,
        STASH_REGISTRATION_AMR_THIRD_PARTY,
        STASH_REGISTRATION_AMR_THIRD_PARTY_PROVIDER,
    }
)
REDACTED = "[redacted]"

# --- beyond Hanko: standalone password recovery and invited registration (issue 15) ------------
# Flows Hanko does not have. Their states reuse Hanko's names wherever they mean the same thing
# (passcode_confirmation, login_password_recovery, login_otp, password_creation, ...); only the
# states below are new.

FLOW_PASSWORD_RECOVERY = "password_recovery"
FLOW_INVITED_REGISTRATION = "invited_registration"

STATE_PASSWORD_RECOVERY_INIT = "password_recovery_init"
STATE_PASSWORD_CHANGED = "password_changed"  # the end of a recovery without auto-login
STATE_INVITED_REGISTRATION_INIT = "invited_registration_init"

ACTION_CONTINUE_WITH_RECOVERY_IDENTIFIER = "continue_with_recovery_identifier"
ACTION_REDEEM_INVITATION = "redeem_invitation"

STASH_RECOVERY_SCHEDULED = "password_recovery.scheduled"
STASH_INVITATION_ID = "invitation_id"  # names the invitation; its code is never stashed

STASH_SHOWN = STASH_SHOWN | {
    STASH_RECOVERY_SCHEDULED,
    STASH_INVITATION_ID,
    STASH_PASSKEY_USER_VERIFIED,
}
