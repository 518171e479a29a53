"""Registration: attestation verification and the rules py_webauthn leaves to us (WA-01, WA-07)."""

from __future__ import annotations

import json
import uuid

import pytest

from hankoflow.models import WebauthnChallenge, WebauthnCredential
from hankoflow.services import webauthn as wa
from hankoflow.testing.webauthn import SoftAuthenticator, b64url
from tests.services.webauthn.conftest import ORIGIN, creation_options, request_options

pytestmark = pytest.mark.django_db


def test_valid_registration(account_factory, device, flow_id):
    account = account_factory()
    options = creation_options(account, flow_id=flow_id)

    new = wa.verify_registration(
        options.challenge_id, device.create(options.options), flow_id=flow_id
    )

    held = device.credential()
    assert new.id == held.id_b64 and len(held.id) == 32
    assert (new.sign_count, new.attestation_type, new.transports) == (0, "none", ["internal"])
    assert new.aaguid == "00000000-0000-0000-0000-000000000000"
    assert (new.backup_eligible, new.backup_state, new.mfa_only) == (False, False, False)
    assert WebauthnChallenge.objects.get(pk=options.challenge_id).used_at is not None

    saved = wa.save_credential(account, new, name="Laptop")
    row = WebauthnCredential.objects.get(pk=new.id)
    assert (row.account_id, row.name, row.public_key) == (account.id, "Laptop", new.public_key)
    assert row.last_used_at == row.created_at == saved.created_at


def test_the_response_may_be_a_json_string(account_factory, device, flow_id):
    options = creation_options(account_factory(), flow_id=flow_id)
    response = json.dumps(device.create(options.options))
    assert wa.verify_registration(options.challenge_id, response, flow_id=flow_id).id


def test_security_key_registration_is_mfa_only(account_factory, flow_id):
    key = SoftAuthenticator(ORIGIN, transports=["usb", "nfc"], attachment="cross-platform")
    options = creation_options(account_factory(), mfa_only=True, flow_id=flow_id)

    new = wa.verify_registration(options.challenge_id, key.create(options.options), flow_id=flow_id)

    assert new.mfa_only and new.transports == ["usb", "nfc"]


def test_backup_flags_are_recorded(account_factory, device, flow_id):
    options = creation_options(account_factory(), flow_id=flow_id)
    response = device.create(options.options, backup_eligible=True, backup_state=True)

    new = wa.verify_registration(options.challenge_id, response, flow_id=flow_id)

    assert (new.backup_eligible, new.backup_state) == (True, True)


def test_new_credential_survives_the_flow_stash(account_factory, device, flow_id):
    options = creation_options(account_factory(), flow_id=flow_id)
    new = wa.verify_registration(
        options.challenge_id, device.create(options.options), flow_id=flow_id
    )

    stashed = json.loads(json.dumps(new.to_stash()))

    assert wa.NewCredential.from_stash(stashed) == new


@pytest.mark.parametrize(
    "origin",
    [
        "http://login.example.com",  # scheme
        "https://login.example.com:8443",  # port
        "https://sub.login.example.com",  # subdomain
        "https://login.example.com.evil",  # look-alike
        "https://login.example.com/",  # trailing slash
        "null",
    ],
)
def test_wrong_origin_is_refused(account_factory, device, flow_id, origin):
    options = creation_options(account_factory(), flow_id=flow_id)
    response = device.create(options.options, origin=origin)
    with pytest.raises(wa.WebauthnInvalid):
        wa.verify_registration(options.challenge_id, response, flow_id=flow_id)


def test_wrong_rp_id_is_refused(account_factory, device, flow_id):
    options = creation_options(account_factory(), flow_id=flow_id)
    response = device.create(options.options, rp_id="example.com")
    with pytest.raises(wa.WebauthnInvalid):
        wa.verify_registration(options.challenge_id, response, flow_id=flow_id)


@pytest.mark.parametrize(
    "extra", [{"type": "webauthn.get"}, {"crossOrigin": True}, {"topOrigin": "https://evil.test"}]
)
def test_wrong_ceremony_type_or_cross_origin_client_data_is_refused(
    account_factory, device, flow_id, extra
):
    options = creation_options(account_factory(), flow_id=flow_id)
    response = device.create(options.options, client_data_extra=extra)
    with pytest.raises(wa.WebauthnInvalid):
        wa.verify_registration(options.challenge_id, response, flow_id=flow_id)


def test_a_challenge_is_consumed_by_the_first_attempt_even_a_failed_one(
    account_factory, device, flow_id
):
    options = creation_options(account_factory(), flow_id=flow_id)
    with pytest.raises(wa.WebauthnInvalid):
        bad = device.create(options.options, origin="https://evil.test")
        wa.verify_registration(options.challenge_id, bad, flow_id=flow_id)

    good = device.create(options.options)
    with pytest.raises(wa.WebauthnInvalid):
        wa.verify_registration(options.challenge_id, good, flow_id=flow_id)


def test_a_replayed_attestation_is_refused(account_factory, device, flow_id):
    options = creation_options(account_factory(), flow_id=flow_id)
    response = device.create(options.options)
    wa.verify_registration(options.challenge_id, response, flow_id=flow_id)
    with pytest.raises(wa.WebauthnInvalid):
        wa.verify_registration(options.challenge_id, response, flow_id=flow_id)


def test_a_challenge_of_another_flow_is_refused_and_left_unused(account_factory, device, flow_id):
    options = creation_options(account_factory(), flow_id=flow_id)
    response = device.create(options.options)

    for other in (str(uuid.uuid4()), None):
        with pytest.raises(wa.WebauthnInvalid):
            wa.verify_registration(options.challenge_id, response, flow_id=other)

    assert wa.verify_registration(options.challenge_id, response, flow_id=flow_id)


def test_an_answer_to_another_challenge_is_refused(account_factory, device, flow_id):
    account = account_factory()
    first = creation_options(account, flow_id=flow_id)
    second = creation_options(account, flow_id=flow_id)
    response = device.create(first.options)
    with pytest.raises(wa.WebauthnInvalid):
        wa.verify_registration(second.challenge_id, response, flow_id=flow_id)


def test_an_expired_challenge_is_refused(account_factory, device, flow_id):
    options = creation_options(account_factory(), flow_id=flow_id)
    row = WebauthnChallenge.objects.get(pk=options.challenge_id)
    WebauthnChallenge.objects.filter(pk=row.pk).update(expires_at=row.created_at)
    with pytest.raises(wa.WebauthnInvalid):
        wa.verify_registration(
            options.challenge_id, device.create(options.options), flow_id=flow_id
        )


def test_an_authentication_challenge_cannot_register(account_factory, device, flow_id):
    options = creation_options(account_factory(), flow_id=flow_id)
    login = request_options(flow_id=flow_id)
    response = device.create(options.options, challenge=login.options["publicKey"]["challenge"])
    with pytest.raises(wa.WebauthnInvalid):
        wa.verify_registration(login.challenge_id, response, flow_id=flow_id)


@pytest.mark.parametrize("user_verification", ["required", "preferred"])
def test_user_verification_is_required_when_configured(
    account_factory, device, flow_id, settings, relying_party, user_verification
):
    settings.HANKOFLOW = {**relying_party, "PASSKEY": {"USER_VERIFICATION": user_verification}}
    options = creation_options(account_factory(), flow_id=flow_id)
    response = device.create(options.options, user_verified=False)
    if user_verification == "required":
        with pytest.raises(wa.WebauthnInvalid):
            wa.verify_registration(options.challenge_id, response, flow_id=flow_id)
    else:
        assert wa.verify_registration(options.challenge_id, response, flow_id=flow_id)


def test_user_presence_is_required(account_factory, device, flow_id):
    options = creation_options(account_factory(), flow_id=flow_id)
    response = device.create(options.options, user_present=False)
    with pytest.raises(wa.WebauthnInvalid):
        wa.verify_registration(options.challenge_id, response, flow_id=flow_id)


def test_backup_state_without_backup_eligibility_is_refused(account_factory, device, flow_id):
    options = creation_options(account_factory(), flow_id=flow_id)
    response = device.create(options.options, backup_eligible=False, backup_state=True)
    with pytest.raises(wa.WebauthnInvalid):
        wa.verify_registration(options.challenge_id, response, flow_id=flow_id)


def test_a_registered_credential_id_is_refused_for_any_account(
    account_factory, device, register, flow_id
):
    alice, bob = account_factory("alice@example.com"), account_factory("bob@example.com")
    existing = register(alice, device)

    for account in (alice, bob):
        other = SoftAuthenticator(ORIGIN)
        options = creation_options(account, flow_id=flow_id)
        response = other.create(options.options, credential_id=device.credential().id)
        with pytest.raises(wa.CredentialExists):
            wa.verify_registration(options.challenge_id, response, flow_id=flow_id)
    assert WebauthnCredential.objects.get().pk == existing.pk


def test_saving_a_credential_twice_is_refused(account_factory, device, flow_id):
    alice, bob = account_factory("alice@example.com"), account_factory("bob@example.com")
    options = creation_options(alice, flow_id=flow_id)
    new = wa.verify_registration(
        options.challenge_id, device.create(options.options), flow_id=flow_id
    )
    wa.save_credential(alice, new)

    with pytest.raises(wa.CredentialExists):
        wa.save_credential(bob, new)
    assert WebauthnCredential.objects.get().account_id == alice.id


def test_credential_ids_over_1023_bytes_are_refused(account_factory, flow_id):
    options = creation_options(account_factory(), flow_id=flow_id)
    response = SoftAuthenticator(ORIGIN).create(options.options, credential_id=b"\x01" * 1024)
    with pytest.raises(wa.WebauthnInvalid):
        wa.verify_registration(options.challenge_id, response, flow_id=flow_id)


def test_1023_byte_credential_ids_are_stored(account_factory, device, register):
    credential = register(account_factory(), device, credential_id=b"\x02" * 1023)
    assert len(credential.id) == 1364
    WebauthnCredential.objects.get(pk=credential.id)


def test_raw_id_must_match_the_attested_credential_id(account_factory, device, flow_id):
    options = creation_options(account_factory(), flow_id=flow_id)
    response = device.create(options.options)
    response["id"] = response["rawId"] = b64url(b"another id")
    with pytest.raises(wa.WebauthnInvalid):
        wa.verify_registration(options.challenge_id, response, flow_id=flow_id)
