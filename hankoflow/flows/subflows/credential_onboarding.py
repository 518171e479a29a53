"""``credential_onboarding``: add a passkey or a password after sign-up or sign-in (§4.0.3)."""

from hankoflow import names as n
from hankoflow.actions.credential_onboarding import (
    ContinueToPasskeyRegistration,
    ContinueToPasswordRegistration,
    RegisterPassword,
    SkipCredentialOnboarding,
    SkipPasskeyCreation,
    SkipPasswordCreation,
    WebauthnGenerateCreationOptions,
    WebauthnVerifyAttestationResponse,
)
from hankoflow.engine import Back, SubFlow

credential_onboarding = (
    SubFlow(n.SUBFLOW_CREDENTIAL_ONBOARDING)
    .state(
        n.STATE_CREDENTIAL_ONBOARDING_CHOOSER,
        ContinueToPasskeyRegistration,
        ContinueToPasswordRegistration,
        SkipCredentialOnboarding,
        Back,
    )
    .state(
        n.STATE_ONBOARDING_CREATE_PASSKEY,
        WebauthnGenerateCreationOptions,
        SkipPasskeyCreation,
        Back,
    )
    .state(n.STATE_ONBOARDING_VERIFY_PASSKEY_ATTESTATION, WebauthnVerifyAttestationResponse, Back)
    .state(n.STATE_PASSWORD_CREATION, RegisterPassword, SkipPasswordCreation, Back)
)
