"""Which sign-in methods this release can offer, given the settings.

A method that is switched on in ``HANKOFLOW`` but not built yet is treated as switched off, the
way Hanko's own configuration switches it off: its actions are suspended and no state that needs
it is scheduled. README "Not built yet" lists these; each line here goes when its issue lands.
"""

from hankoflow.conf import settings


def passkeys() -> bool:
    return False  # WebAuthn passkeys: issue #5


def mfa() -> bool:
    return False  # TOTP and security keys: issue #5


def third_party() -> bool:
    return False  # OAuth and SAML: later issue


def passwords() -> bool:
    return settings.PASSWORD.ENABLED


def email_login_identifier() -> bool:
    return settings.EMAIL.ENABLED and settings.EMAIL.USE_AS_LOGIN_IDENTIFIER


def username_login_identifier() -> bool:
    return settings.USERNAME.ENABLED and settings.USERNAME.USE_AS_LOGIN_IDENTIFIER


def passcode_login() -> bool:
    return settings.EMAIL.ENABLED and settings.EMAIL.USE_FOR_AUTHENTICATION
