"""Which sign-in methods the settings switch on, in one place for all actions and hooks.

Methods not built yet (third-party OAuth and SAML) have no actions declared at all, which is how
Hanko looks with them switched off; README "Not built yet" lists them.
"""

from hankoflow.conf import settings


def passkeys() -> bool:
    return settings.PASSKEY.ENABLED


def mfa() -> bool:
    """MFA as a whole: on, and at least one second factor on."""
    return settings.MFA.ENABLED and (totp() or security_keys())


def totp() -> bool:
    return settings.MFA.ENABLED and settings.MFA.TOTP.ENABLED


def security_keys() -> bool:
    return settings.MFA.ENABLED and settings.MFA.SECURITY_KEYS.ENABLED


def passwords() -> bool:
    return settings.PASSWORD.ENABLED


def email_login_identifier() -> bool:
    return settings.EMAIL.ENABLED and settings.EMAIL.USE_AS_LOGIN_IDENTIFIER


def username_login_identifier() -> bool:
    return settings.USERNAME.ENABLED and settings.USERNAME.USE_AS_LOGIN_IDENTIFIER


def passcode_login() -> bool:
    return settings.EMAIL.ENABLED and settings.EMAIL.USE_FOR_AUTHENTICATION
