"""Which sign-in methods this release can offer, given the settings.

A method that is switched on in ``HANKOFLOW`` but not built yet is treated as switched off, the
way Hanko's own configuration switches it off: its actions are suspended and no state that needs
it is scheduled. README "Not built yet" lists these; each line here goes when its issue lands.
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


def third_party() -> bool:
    return False  # OAuth and SAML: a later issue


def passwords() -> bool:
    return settings.PASSWORD.ENABLED


def email_login_identifier() -> bool:
    return settings.EMAIL.ENABLED and settings.EMAIL.USE_AS_LOGIN_IDENTIFIER


def username_login_identifier() -> bool:
    return settings.USERNAME.ENABLED and settings.USERNAME.USE_AS_LOGIN_IDENTIFIER


def passcode_login() -> bool:
    return settings.EMAIL.ENABLED and settings.EMAIL.USE_FOR_AUTHENTICATION
