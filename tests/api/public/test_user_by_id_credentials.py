"""The deprecated ``GET /users/{id}`` lists the user's WebAuthn credentials (platform.md
§3.3.10), checked against ``openapi-public.yaml``."""

from __future__ import annotations

from hankoflow.models import WebauthnCredential
from hankoflow.services import webauthn
from hankoflow.testing.openapi_public import check
from hankoflow.testing.webauthn import SoftAuthenticator


def test_user_by_id_lists_passkeys_and_security_keys(
    account_factory, signed_in_client, soft_authenticator
):
    account = account_factory(passkey=soft_authenticator)
    key = SoftAuthenticator("http://localhost:8000", transports=("usb",))
    options = webauthn.registration_options(
        user_id=str(account.id),
        user_name="key",
        user_display_name="key",
        mfa_only=True,
        exclude_credential_ids=[],
        flow_id=None,
    )
    new = webauthn.verify_registration(
        options.challenge_id, key.create(options.options), flow_id=None
    )
    security_key = webauthn.save_credential(account, new, name="YubiKey")
    passkey = WebauthnCredential.objects.get(account=account, mfa_only=False)
    stranger = account_factory(passkey=SoftAuthenticator("http://localhost:8000"))
    path = f"/users/{account.pk}"

    body = check(signed_in_client(account).get(path), "GET", path)

    listed = {c["id"]: c for c in body["webauthn_credentials"]}
    assert set(listed) == {passkey.pk, security_key.pk}  # not the stranger's
    assert stranger.pk != account.pk
    assert listed[passkey.pk]["mfa_only"] is False and "name" not in listed[passkey.pk]
    assert listed[security_key.pk]["mfa_only"] is True
    assert listed[security_key.pk]["name"] == "YubiKey"
    assert listed[security_key.pk]["transports"] == ["usb"]
    for credential in listed.values():
        assert credential["user_id"] == str(account.pk)
        assert credential["public_key"] and credential["created_at"] and credential["updated_at"]
        assert credential["sign_count"] == 0
