"""Signing a transaction with a passkey: the challenge binds the transaction's data."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from django.core.cache import caches
from webauthn.helpers import base64url_to_bytes

from hankoflow.models import AuditLogEntry, WebauthnChallenge
from hankoflow.services import audit, passkey_api
from hankoflow.testing.webauthn import SoftAuthenticator
from tests.passkey_api.conftest import Api

PAYMENT = {"amount": 4200, "currency": "EUR", "to": "DE02 1203 0000 0000 2020 51"}


def initialize(api: Api, user: Any, data: Any = None, tx_id: str = "tx-1") -> dict[str, Any]:
    answer = api.post(
        "/transaction/initialize",
        {"user_id": str(user.pk), "transaction_id": tx_id, "transaction_data": data or PAYMENT},
    )
    assert answer.status_code == 200, answer.json()
    return answer.json()


@pytest.fixture
def signer(api: Api, host_user: Any, soft_authenticator: SoftAuthenticator) -> SoftAuthenticator:
    api.register(host_user, soft_authenticator)
    return soft_authenticator


def test_a_signed_transaction_answers_a_token_carrying_it(
    api: Api, host_user: Any, signer: SoftAuthenticator
) -> None:
    options = initialize(api, host_user)
    challenge = base64url_to_bytes(options["publicKey"]["challenge"])
    canonical = json.dumps(
        {"id": "tx-1", "data": PAYMENT}, sort_keys=True, separators=(",", ":")
    ).encode()
    assert challenge[16:] == hashlib.sha256(canonical).digest()
    assert [c["id"] for c in options["publicKey"]["allowCredentials"]] == [
        next(iter(signer.credentials.values())).id_b64
    ]

    answer = api.post("/transaction/finalize", signer.get(options), key=False)

    assert answer.status_code == 200, answer.json()
    found = passkey_api.verify_token(answer.json()["token"])
    assert found["sub"] == str(host_user.pk)
    assert found["ceremony"] == passkey_api.TRANSACTION
    assert found["transaction"] == {"id": "tx-1", "data": PAYMENT}
    entry = AuditLogEntry.objects.get(type=audit.WEBAUTHN_AUTHENTICATION_FINAL_SUCCEEDED)
    assert entry.details["transaction_id"] == "tx-1"
    # A transaction token signs nobody in.
    with pytest.raises(passkey_api.TokenInvalid):
        passkey_api.redeem_login(answer.json()["token"])


def test_a_replayed_transaction_signature_is_refused(
    api: Api, host_user: Any, signer: SoftAuthenticator
) -> None:
    signed = signer.get(initialize(api, host_user))
    assert api.post("/transaction/finalize", signed, key=False).status_code == 200
    assert api.post("/transaction/finalize", signed, key=False).status_code == 400
    # Nor does it sign the same transaction started again (a new challenge).
    initialize(api, host_user)
    assert api.post("/transaction/finalize", signed, key=False).status_code == 400


def test_a_signature_over_altered_data_is_refused(
    api: Api, host_user: Any, signer: SoftAuthenticator
) -> None:
    options = initialize(api, host_user)
    # The client signs another transaction's digest under the same random part.
    challenge = base64url_to_bytes(options["publicKey"]["challenge"])
    altered = challenge[:16] + passkey_api.transaction_digest("tx-1", {**PAYMENT, "amount": 1})
    answer = api.post("/transaction/finalize", signer.get(options, challenge=altered), key=False)
    assert answer.status_code == 400
    # The altered challenge names no stored challenge; the genuine one is still unanswered.
    assert api.post("/transaction/finalize", signer.get(options), key=False).status_code == 200


def test_data_changed_after_initialize_is_refused(
    api: Api, host_user: Any, signer: SoftAuthenticator
) -> None:
    options = initialize(api, host_user)
    row = WebauthnChallenge.objects.get(challenge=options["publicKey"]["challenge"])
    key = passkey_api._TX_KEY.format(row.pk)
    assert caches["default"].get(key) == {"id": "tx-1", "data": PAYMENT}
    caches["default"].set(key, {"id": "tx-1", "data": {**PAYMENT, "to": "attacker"}})
    answer = api.post("/transaction/finalize", signer.get(options), key=False)
    assert answer.status_code == 400
    assert answer.json()["message"] == "transaction differs from what was signed"
    assert AuditLogEntry.objects.filter(type=audit.WEBAUTHN_AUTHENTICATION_FINAL_FAILED).exists()


def test_a_transaction_signed_by_another_credential_is_refused(
    api: Api, host_user: Any, other_user: Any, signer: SoftAuthenticator
) -> None:
    theirs = SoftAuthenticator(signer.origin, signer.rp_id)
    api.register(other_user, theirs)
    options = initialize(api, host_user)
    forged = theirs.get({"publicKey": {**options["publicKey"], "allowCredentials": []}})
    answer = api.post("/transaction/finalize", forged, key=False)
    assert answer.status_code == 400


def test_a_transaction_signed_by_another_credential_of_the_same_user_not_allowed_is_refused(
    api: Api, host_user: Any, signer: SoftAuthenticator
) -> None:
    # A security key of the same user is no passkey: not allowed for a transaction.
    key_device = SoftAuthenticator(signer.origin, signer.rp_id)
    api.register(host_user, key_device, mfa=True)
    options = initialize(api, host_user)
    forged = key_device.get({"publicKey": {**options["publicKey"], "allowCredentials": []}})
    assert api.post("/transaction/finalize", forged, key=False).status_code == 400


def test_a_login_challenge_does_not_sign_a_transaction(
    api: Api, host_user: Any, signer: SoftAuthenticator
) -> None:
    assertion = signer.get(api.login_options(host_user))
    assert api.post("/transaction/finalize", assertion, key=False).status_code == 400
    signed = signer.get(initialize(api, host_user))
    assert api.post("/credentials/login/finalize", signed, key=False).status_code == 400


def test_an_expired_transaction_is_refused(
    api: Api, host_user: Any, signer: SoftAuthenticator, clock: Any
) -> None:
    options = initialize(api, host_user)
    clock.advance(minutes=30)
    assert api.post("/transaction/finalize", signer.get(options), key=False).status_code == 400


def test_transaction_initialize_needs_the_api_key(api: Api, host_user: Any) -> None:
    body = {"user_id": str(host_user.pk), "transaction_id": "t", "transaction_data": PAYMENT}
    assert api.post("/transaction/initialize", body, key=False).status_code == 401
    assert api.post("/transaction/initialize", body, key="hfk_x").status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"transaction_id": "t", "transaction_data": PAYMENT},
        {"user_id": "USER", "transaction_data": PAYMENT},
        {"user_id": "USER", "transaction_id": "", "transaction_data": PAYMENT},
        {"user_id": "USER", "transaction_id": "t" * 129, "transaction_data": PAYMENT},
        {"user_id": "USER", "transaction_id": "t"},
        {"user_id": "USER", "transaction_id": "t", "transaction_data": None},
    ],
)
def test_transaction_initialize_refuses_bad_input(api: Api, host_user: Any, body: dict) -> None:
    body = {k: (str(host_user.pk) if v == "USER" else v) for k, v in body.items()}
    assert api.post("/transaction/initialize", body).status_code == 400


def test_transaction_of_an_unknown_user_is_404(api: Api) -> None:
    body = {"user_id": "31337", "transaction_id": "t", "transaction_data": PAYMENT}
    assert api.post("/transaction/initialize", body).status_code == 404
