"""Which ways to sign in an account has, so that removing one never leaves it without any.

The profile actions that remove a password, a username, a passkey or an email ask
``can_sign_in`` what would be left (flow-api.md §4.3.2 #9, #15, #18), first when they decide
whether to offer themselves and again under ``accounts.lock`` before they remove anything.
The methods follow Hanko's definitions:

* passkey: passkeys on, and a passkey (a security key is a second factor only);
* password: passwords on, a password, and an identifier to type (an email address when
  addresses are login identifiers, the username when usernames are);
* passcode: email passcodes on, an address to send it to, and an identifier (the address, or
  the username when usernames are login identifiers);
* third party: an identity of a provider that is enabled now (disconnecting one asks with
  ``without_identities``);
* SAML: an identity whose address belongs to the domain of an enabled SAML provider (SAML
  sign-in starts from that address; reading an IdP's entity id would need its metadata).
"""

from __future__ import annotations

from dataclasses import dataclass

from hankoflow import features
from hankoflow.models import Account
from hankoflow.services import accounts, webauthn
from hankoflow.services.saml import providers as saml_providers
from hankoflow.services.thirdparty import identities as thirdparty_identities


@dataclass(frozen=True)
class Credentials:
    """What an account has that a sign-in can use."""

    password: bool
    username: bool
    emails: int
    passkeys: int
    identities: int = 0  # of enabled providers
    saml: bool = False

    @classmethod
    def of(cls, account: Account) -> Credentials:
        return cls(
            password=accounts.has_password(account.user),
            username=accounts.username_of(account) is not None,
            emails=len(account.emails.all()),
            passkeys=len(webauthn.credentials_of(account, mfa_only=False)),
            identities=len(thirdparty_identities.enabled_of(account)),
            saml=_has_saml_identity(account),
        )


def can_sign_in(
    account: Account | Credentials,
    *,
    without_password: bool = False,
    without_username: bool = False,
    without_passkeys: int = 0,
    without_identities: int = 0,
) -> bool:
    """Whether the account can still sign in once the named things are gone."""
    have = account if isinstance(account, Credentials) else Credentials.of(account)
    password = have.password and not without_password
    username = have.username and not without_username
    passkeys = have.passkeys - without_passkeys
    # Hanko reads USE_AS_LOGIN_IDENTIFIER alone; the login flow also needs the identifier on.
    email_identifier = features.email_login_identifier() and have.emails > 0
    username_identifier = features.username_login_identifier() and username
    by_passkey = features.passkeys() and passkeys > 0
    by_password = features.passwords() and password and (email_identifier or username_identifier)
    by_passcode = features.passcode_login() and (
        email_identifier or (username_identifier and have.emails > 0)
    )
    by_third_party = have.identities - without_identities > 0
    return bool(by_passkey or by_password or by_passcode or by_third_party or have.saml)


def _has_saml_identity(account: Account) -> bool:
    domains = {provider.domain for provider in saml_providers.enabled()}
    if not domains:
        return False
    return any(
        identity.email.rpartition("@")[2] in domains for identity in account.identities.all()
    )
