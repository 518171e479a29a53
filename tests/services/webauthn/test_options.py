"""Creation and request options (flow-api.md §4.6.3, §4.6.4) and their stored challenges."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from hankoflow.models import WebauthnChallenge
from hankoflow.services import webauthn as wa
from tests.services.webauthn.conftest import RP_ID, creation_options, request_options

pytestmark = pytest.mark.django_db


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def test_passkey_creation_options(account_factory, flow_id):
    account = account_factory()
    options = creation_options(account, flow_id=flow_id)

    public_key = options.options["publicKey"]
    assert list(options.options) == ["publicKey"]
    assert list(public_key) == [
        "rp",
        "user",
        "challenge",
        "pubKeyCredParams",
        "timeout",
        "authenticatorSelection",
        "attestation",
    ]
    assert public_key["rp"] == {"name": "Example", "id": RP_ID}
    assert public_key["user"] == {
        "id": base64.urlsafe_b64encode(account.id.bytes).rstrip(b"=").decode(),
        "name": "ada@example.com",
        "displayName": "ada@example.com",
    }
    assert len(b64decode(public_key["challenge"])) == 64
    assert "=" not in public_key["challenge"]
    assert [p["alg"] for p in public_key["pubKeyCredParams"]] == [-8, -7, -257]
    assert {p["type"] for p in public_key["pubKeyCredParams"]} == {"public-key"}
    assert public_key["timeout"] == 300_000
    assert public_key["authenticatorSelection"] == {
        "residentKey": "required",
        "requireResidentKey": True,
        "userVerification": "preferred",
    }
    assert public_key["attestation"] == "direct"


def test_the_challenge_is_stored_bound_to_flow_ceremony_and_user(account_factory, flow_id):
    account = account_factory()
    options = creation_options(account, mfa_only=True, flow_id=flow_id)

    row = WebauthnChallenge.objects.get(pk=options.challenge_id)
    assert row.challenge == options.options["publicKey"]["challenge"]
    assert (str(row.flow_id), row.ceremony, row.user_id) == (flow_id, "registration", account.id)
    assert (row.mfa_only, row.user_verification, row.used_at) == (True, "discouraged", None)
    assert row.expires_at - row.created_at == timedelta(milliseconds=300_000)


def test_security_key_creation_options(account_factory, settings, relying_party):
    settings.HANKOFLOW = {
        **relying_party,
        "PASSKEY": {"ATTESTATION_PREFERENCE": "none"},
        "MFA": {"SECURITY_KEYS": {"USER_VERIFICATION": "required"}},
    }
    public_key = creation_options(account_factory(), mfa_only=True).options["publicKey"]

    assert public_key["authenticatorSelection"] == {
        "authenticatorAttachment": "cross-platform",
        "residentKey": "discouraged",
        "requireResidentKey": False,
        "userVerification": "required",
    }
    # Hanko: security keys use PASSKEY.ATTESTATION_PREFERENCE too.
    assert public_key["attestation"] == "none"


def test_no_preference_omits_the_authenticator_attachment(account_factory, settings, relying_party):
    settings.HANKOFLOW = {
        **relying_party,
        "MFA": {"SECURITY_KEYS": {"AUTHENTICATOR_ATTACHMENT": "no_preference"}},
    }
    selection = creation_options(account_factory(), mfa_only=True).options["publicKey"][
        "authenticatorSelection"
    ]
    assert "authenticatorAttachment" not in selection


def test_exclude_credentials_lists_existing_credentials_with_their_transports(
    account_factory, device, register
):
    account = account_factory()
    credential = register(account, device)

    public_key = creation_options(account, exclude=[credential.id]).options["publicKey"]

    assert public_key["excludeCredentials"] == [
        {"id": credential.id, "type": "public-key", "transports": ["internal"]}
    ]
    assert list(public_key).index("excludeCredentials") == list(public_key).index("timeout") + 1


def test_discoverable_request_options_have_no_allow_credentials(flow_id):
    options = request_options(flow_id=flow_id)

    assert options.options == {
        "publicKey": {
            "challenge": options.options["publicKey"]["challenge"],
            "timeout": 120_000,
            "rpId": RP_ID,
            "userVerification": "preferred",
        }
    }
    row = WebauthnChallenge.objects.get(pk=options.challenge_id)
    assert (row.ceremony, row.user_id, row.allowed_credential_ids, row.mfa) == (
        "authentication",
        None,
        [],
        False,
    )


def test_nil_user_id_means_discoverable():
    options = request_options(user_id="00000000-0000-0000-0000-000000000000")
    assert WebauthnChallenge.objects.get(pk=options.challenge_id).user_id is None


def test_request_options_for_a_user_list_their_credentials(account_factory, device, register):
    account = account_factory()
    credential = register(account, device, mfa_only=True)

    options = request_options(
        user_id=str(account.id), allow=[credential.id], user_verification="discouraged", mfa=True
    )

    public_key = options.options["publicKey"]
    assert public_key["allowCredentials"] == [
        {"id": credential.id, "type": "public-key", "transports": ["internal"]}
    ]
    assert public_key["userVerification"] == "discouraged"
    row = WebauthnChallenge.objects.get(pk=options.challenge_id)
    assert (row.user_id, row.allowed_credential_ids, row.mfa) == (
        account.id,
        [credential.id],
        True,
    )


def test_expired_challenges_are_cleaned_up():
    old = request_options()
    fresh = request_options()
    WebauthnChallenge.objects.filter(pk=old.challenge_id).update(
        expires_at=WebauthnChallenge.objects.get(pk=old.challenge_id).created_at
    )
    assert wa.delete_expired_challenges() == 1
    assert list(WebauthnChallenge.objects.values_list("pk", flat=True)) == [
        WebauthnChallenge.objects.get(pk=fresh.challenge_id).pk
    ]
