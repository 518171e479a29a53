"""WebAuthn ceremonies: passkeys and security keys (flow-api.md §4.0.2.3, §4.0.3, §4.0.5, §4.0.6).

py_webauthn checks each ceremony (client data type, challenge, origin, RP ID hash, user
presence/verification, signature, attestation statement, backup flags). This module adds what
the library leaves to the relying party (security-checks.md §1.3):

* challenges are stored server-side, bound to their flow, ceremony and user, expire with the
  ceremony timeout and are consumed by the first verification attempt, successful or not
  (WA-01);
* the asserted credential must be an allowed one and belong to the user being signed in; a
  discoverable login needs a ``userHandle`` naming the credential's owner (WA-03);
* a security key (``mfa_only``) is refused as a first factor (WA-04);
* a sign-count regression is refused and audited, the new count stored by compare-and-set
  (WA-05); BE must not change once stored, BS without BE is refused (WA-06);
* a credential id is at most 1023 bytes and registered once, for any account (WA-07);
* anything malformed raises ``WebauthnInvalid``, never another exception (WA-08);
* a ``crossOrigin`` or ``topOrigin`` client (an iframe) is refused (WA-02).

Expected origins and RP ID come from ``WEBAUTHN.RELYING_PARTY`` only, never from the request.
A challenge is consumed inside the caller's transaction: the caller (a flow step) must catch
``WebauthnInvalid`` and commit, or the consumption is rolled back with it.

Hanko: deletes a WebAuthn session only after a successful verification; we consume it on the
first attempt. Hanko offers go-webauthn's ten algorithms; we offer py_webauthn's default
(EdDSA, ES256, RS256), the allow-list of WA-07.

Modules: ``registration`` and ``authentication`` (the two ceremonies), ``challenges`` (stored,
bound, single use), ``responses`` (reading untrusted client JSON), ``credentials`` (stored
credentials and their profile object), ``errors``. The names below are the package's public API.
"""

from hankoflow.services.webauthn.authentication import (
    SIGN_COUNT_REGRESSION,
    Assertion,
    authentication_options,
    verify_authentication,
)
from hankoflow.services.webauthn.challenges import (
    AUTHENTICATION,
    REGISTRATION,
    Options,
    delete_expired_challenges,
    find_challenge_id,
)
from hankoflow.services.webauthn.credentials import (
    MAX_NAME_LENGTH,
    NIL_AAGUID,
    InvalidCredentialName,
    clean_name,
    credential_dto,
    credentials_of,
    delete_credential,
    find_credential,
    legacy_credential_dto,
    rename_credential,
)
from hankoflow.services.webauthn.errors import CredentialExists, MfaOnlyCredential, WebauthnInvalid
from hankoflow.services.webauthn.registration import (
    NewCredential,
    registration_options,
    save_credential,
    user_names,
    verify_registration,
)

__all__ = [
    "AUTHENTICATION",
    "MAX_NAME_LENGTH",
    "NIL_AAGUID",
    "REGISTRATION",
    "SIGN_COUNT_REGRESSION",
    "Assertion",
    "CredentialExists",
    "InvalidCredentialName",
    "MfaOnlyCredential",
    "NewCredential",
    "Options",
    "WebauthnInvalid",
    "authentication_options",
    "clean_name",
    "credential_dto",
    "credentials_of",
    "delete_credential",
    "delete_expired_challenges",
    "find_challenge_id",
    "find_credential",
    "legacy_credential_dto",
    "registration_options",
    "rename_credential",
    "save_credential",
    "user_names",
    "verify_authentication",
    "verify_registration",
]
