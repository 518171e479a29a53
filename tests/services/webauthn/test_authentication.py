"""Assertions: ownership, MFA-only keys, sign counts, backup flags (WA-01, WA-03 … WA-06)."""

from __future__ import annotations

import uuid

import pytest

from hankoflow.models import AuditLogEntry, WebauthnChallenge, WebauthnCredential
from hankoflow.services import audit
from hankoflow.services import webauthn as wa
from hankoflow.services.webauthn import authentication as wa_authentication
from hankoflow.testing.webauthn import SoftAuthenticator, b64url
from tests.services.webauthn.conftest import ORIGIN, request_options

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(account_factory):
    return account_factory("alice@example.com")


@pytest.fixture
def passkey(alice, device, register):
    return register(alice, device)


def login(device, flow_id, **get):
    """A discoverable login with ``device``: returns the assertion (or raises)."""
    options = request_options(flow_id=flow_id)
    return wa.verify_authentication(
        options.challenge_id, device.get(options.options, **get), flow_id=flow_id
    )


def test_discoverable_login(alice, passkey, device, flow_id):
    before = WebauthnCredential.objects.get(pk=passkey.pk).last_used_at

    assertion = login(device, flow_id)

    assert assertion.account == alice
    assert assertion.credential.pk == passkey.pk
    row = WebauthnCredential.objects.get(pk=passkey.pk)
    assert row.sign_count == 1 == assertion.credential.sign_count
    assert row.last_used_at > before


def test_identified_login_with_allowed_credentials(alice, passkey, device, flow_id):
    options = request_options(user_id=str(alice.id), allow=[passkey.id], flow_id=flow_id)
    response = device.get(options.options, user_handle=None)  # security keys send no handle
    assertion = wa.verify_authentication(options.challenge_id, response, flow_id=flow_id)
    assert assertion.account == alice


def test_a_replayed_assertion_is_refused(passkey, device, flow_id):
    options = request_options(flow_id=flow_id)
    response = device.get(options.options)
    wa.verify_authentication(options.challenge_id, response, flow_id=flow_id)
    with pytest.raises(wa.WebauthnInvalid):
        wa.verify_authentication(options.challenge_id, response, flow_id=flow_id)


def test_a_failed_attempt_consumes_the_challenge(passkey, device, flow_id):
    options = request_options(flow_id=flow_id)
    with pytest.raises(wa.WebauthnInvalid):
        bad = device.get(options.options, corrupt_signature=True)
        wa.verify_authentication(options.challenge_id, bad, flow_id=flow_id)
    with pytest.raises(wa.WebauthnInvalid):
        wa.verify_authentication(options.challenge_id, device.get(options.options), flow_id=flow_id)


def test_a_challenge_of_another_flow_is_refused(passkey, device, flow_id):
    options = request_options(flow_id=flow_id)
    response = device.get(options.options)
    with pytest.raises(wa.WebauthnInvalid):
        wa.verify_authentication(options.challenge_id, response, flow_id=str(uuid.uuid4()))
    assert WebauthnChallenge.objects.get(pk=options.challenge_id).used_at is None


def test_a_registration_challenge_cannot_log_in(alice, passkey, device, flow_id):
    from tests.services.webauthn.conftest import creation_options

    options = creation_options(alice, flow_id=flow_id)
    response = device.get(
        request_options().options, challenge=options.options["publicKey"]["challenge"]
    )
    with pytest.raises(wa.WebauthnInvalid):
        wa.verify_authentication(options.challenge_id, response, flow_id=flow_id)


@pytest.mark.parametrize(
    "tamper",
    [
        {"origin": "https://evil.test"},
        {"origin": "http://login.example.com"},
        {"rp_id": "example.com"},
        {"challenge": b"\x00" * 64},
        {"corrupt_signature": True},
        {"user_present": False},
        {"client_data_extra": {"type": "webauthn.create"}},
        {"client_data_extra": {"crossOrigin": True}},
        {"client_data_extra": {"topOrigin": "https://evil.test"}},
    ],
    ids=lambda tamper: next(iter(tamper)),
)
def test_tampered_assertions_are_refused(passkey, device, flow_id, tamper):
    with pytest.raises(wa.WebauthnInvalid):
        login(device, flow_id, **tamper)
    assert WebauthnCredential.objects.get(pk=passkey.pk).sign_count == 0


def test_an_unknown_credential_is_refused(flow_id):
    stranger = SoftAuthenticator(ORIGIN)
    stranger.create({"user": {"id": b64url(uuid.uuid4().bytes)}, "challenge": "AA"})
    with pytest.raises(wa.WebauthnInvalid):
        login(stranger, flow_id)


def test_a_deleted_credential_is_refused_at_once(passkey, device, flow_id):
    passkey.delete()
    with pytest.raises(wa.WebauthnInvalid):
        login(device, flow_id)


# --- ownership (WA-03) ----------------------------------------------------------------------------


def test_another_users_credential_is_refused_in_the_mfa_step(
    alice, account_factory, register, flow_id
):
    bob = account_factory("bob@example.com")
    alices_key, bobs_key = SoftAuthenticator(ORIGIN), SoftAuthenticator(ORIGIN)
    alices = register(alice, alices_key, mfa_only=True)
    register(bob, bobs_key, mfa_only=True)

    # As the flow asks: Alice's credentials allowed …
    options = request_options(user_id=str(alice.id), allow=[alices.id], mfa=True, flow_id=flow_id)
    response = bobs_key.get(options.options, credential_id=bobs_key.credential().id)
    with pytest.raises(wa.WebauthnInvalid):
        wa.verify_authentication(options.challenge_id, response, flow_id=flow_id)

    # … and even without an allow list, the user bound to the challenge must own it.
    options = request_options(user_id=str(alice.id), mfa=True, flow_id=flow_id)
    response = bobs_key.get(options.options)
    with pytest.raises(wa.WebauthnInvalid):
        wa.verify_authentication(options.challenge_id, response, flow_id=flow_id)


def test_discoverable_login_requires_a_user_handle(passkey, device, flow_id):
    with pytest.raises(wa.WebauthnInvalid):
        login(device, flow_id, user_handle=None)


def test_a_swapped_user_handle_is_refused(alice, passkey, device, account_factory, flow_id):
    bob = account_factory("bob@example.com")
    for handle in (bob.id.bytes, b"\x00" * 16, b"x"):
        with pytest.raises(wa.WebauthnInvalid):
            login(device, flow_id, user_handle=handle)
    assert login(device, flow_id, user_handle=alice.id.bytes).account == alice


def test_a_credential_outside_the_allow_list_is_refused(alice, device, register, flow_id):
    first = register(alice, device)
    second_device = SoftAuthenticator(ORIGIN)
    register(alice, second_device)
    options = request_options(user_id=str(alice.id), allow=[first.id], flow_id=flow_id)
    response = second_device.get(options.options, credential_id=second_device.credential().id)
    with pytest.raises(wa.WebauthnInvalid):
        wa.verify_authentication(options.challenge_id, response, flow_id=flow_id)


# --- user verification and MFA-only keys (WA-04) --------------------------------------------------


@pytest.mark.parametrize("user_verification", ["required", "preferred", "discouraged"])
def test_user_verification_is_enforced_when_required(passkey, device, flow_id, user_verification):
    options = request_options(user_verification=user_verification, flow_id=flow_id)
    response = device.get(options.options, user_verified=False)
    if user_verification == "required":
        with pytest.raises(wa.WebauthnInvalid):
            wa.verify_authentication(options.challenge_id, response, flow_id=flow_id)
    else:
        assert wa.verify_authentication(options.challenge_id, response, flow_id=flow_id)


def test_a_security_key_is_not_a_first_factor(alice, register, flow_id):
    key = SoftAuthenticator(ORIGIN, transports=["usb"], attachment="cross-platform")
    credential = register(alice, key, mfa_only=True)

    with pytest.raises(wa.MfaOnlyCredential):
        login(key, flow_id)
    options = request_options(user_id=str(alice.id), allow=[credential.id], flow_id=flow_id)
    with pytest.raises(wa.MfaOnlyCredential):
        wa.verify_authentication(options.challenge_id, key.get(options.options), flow_id=flow_id)

    options = request_options(user_id=str(alice.id), allow=[credential.id], mfa=True)
    assertion = wa.verify_authentication(
        options.challenge_id, key.get(options.options), flow_id=None
    )
    assert assertion.credential.mfa_only and assertion.account == alice


def test_a_passkey_may_serve_as_a_second_factor(alice, passkey, device):
    options = request_options(user_id=str(alice.id), allow=[passkey.id], mfa=True)
    assert wa.verify_authentication(options.challenge_id, device.get(options.options), flow_id=None)


# --- sign counts (WA-05) --------------------------------------------------------------------------


def test_sign_count_regression_from_a_clone_is_refused_and_audited(alice, passkey, device, flow_id):
    clone = device.clone()
    login(device, flow_id)
    login(device, flow_id)

    with pytest.raises(wa.WebauthnInvalid, match="sign count regression"):
        login(clone, flow_id)  # sends count 1 after 2

    assert WebauthnCredential.objects.get(pk=passkey.pk).sign_count == 2
    entry = AuditLogEntry.objects.get(type=audit.LOGIN_FAILURE)
    assert (entry.error, entry.actor_user_id) == ("sign count regression", alice.id)
    assert entry.details["credential_id"] == passkey.id


@pytest.mark.parametrize("count", [0, 1])
def test_a_repeated_sign_count_is_refused(passkey, device, flow_id, count):
    login(device, flow_id, sign_count=5)
    with pytest.raises(wa.WebauthnInvalid):
        login(device, flow_id, sign_count=5 - count)


def test_authenticators_without_a_counter_always_send_zero(passkey, device, flow_id):
    login(device, flow_id, sign_count=0)
    login(device, flow_id, sign_count=0)
    assert WebauthnCredential.objects.get(pk=passkey.pk).sign_count == 0
    assert not AuditLogEntry.objects.filter(type=audit.LOGIN_FAILURE).exists()


def test_a_counter_that_starts_after_zero_is_accepted_and_stored(passkey, device, flow_id):
    login(device, flow_id, sign_count=40)
    assert WebauthnCredential.objects.get(pk=passkey.pk).sign_count == 40


def test_the_stored_count_is_never_lowered_by_a_concurrent_lower_assertion(
    passkey, device, flow_id
):
    """Compare-and-set: a higher count stored after we read the row wins (WA-05)."""
    options = request_options(flow_id=flow_id)
    response = device.get(options.options, sign_count=3)
    real = wa_authentication.verify_authentication_response

    def rival_stores_a_higher_count(**kwargs):
        verified = real(**kwargs)
        WebauthnCredential.objects.filter(pk=passkey.pk).update(sign_count=9)
        return verified

    wa_authentication.verify_authentication_response = rival_stores_a_higher_count
    try:
        with pytest.raises(wa.WebauthnInvalid):
            wa.verify_authentication(options.challenge_id, response, flow_id=flow_id)
    finally:
        wa_authentication.verify_authentication_response = real
    assert WebauthnCredential.objects.get(pk=passkey.pk).sign_count == 9


# --- backup flags (WA-06) -------------------------------------------------------------------------


def test_backup_state_without_backup_eligibility_is_refused(passkey, device, flow_id):
    with pytest.raises(wa.WebauthnInvalid):
        login(device, flow_id, backup_eligible=False, backup_state=True)


def test_backup_eligibility_must_not_change(alice, passkey, device, register, flow_id):
    with pytest.raises(wa.WebauthnInvalid):
        login(device, flow_id, backup_eligible=True)

    synced = SoftAuthenticator(ORIGIN)
    register(alice, synced, backup_eligible=True)
    with pytest.raises(wa.WebauthnInvalid):
        login(synced, flow_id, backup_eligible=False)


def test_backup_state_is_refreshed(alice, register, flow_id):
    synced = SoftAuthenticator(ORIGIN)
    credential = register(alice, synced, backup_eligible=True, backup_state=False)

    login(synced, flow_id, backup_state=True)

    assert WebauthnCredential.objects.get(pk=credential.pk).backup_state is True
