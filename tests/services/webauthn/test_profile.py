"""Credential listings: account facts, profile data and the credential object (§4.6.1)."""

from __future__ import annotations

import re

import pytest

from hankoflow.models import WebauthnCredential
from hankoflow.services import accounts, profile
from hankoflow.services import webauthn as wa
from hankoflow.testing.webauthn import SoftAuthenticator
from tests.services.webauthn.conftest import ORIGIN

pytestmark = pytest.mark.django_db

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def test_facts_tell_passkeys_from_security_keys(account_factory, register):
    account = account_factory()
    facts = accounts.facts(account)
    assert (facts.has_passkey, facts.has_webauthn_credential, facts.has_security_key) == (
        False,
        False,
        False,
    )

    register(account, SoftAuthenticator(ORIGIN), mfa_only=True)
    facts = accounts.facts(account)
    assert (facts.has_passkey, facts.has_webauthn_credential, facts.has_security_key) == (
        False,
        True,
        True,
    )

    register(account, SoftAuthenticator(ORIGIN))
    register(account, SoftAuthenticator(ORIGIN))
    facts = accounts.facts(account)
    assert (facts.has_passkey, facts.has_webauthn_credential, facts.has_security_key) == (
        True,
        True,
        True,
    )


def test_credentials_of(account_factory, register):
    account, other = account_factory(), account_factory()
    passkey = register(account, SoftAuthenticator(ORIGIN))
    key = register(account, SoftAuthenticator(ORIGIN), mfa_only=True)
    register(other, SoftAuthenticator(ORIGIN))

    assert wa.credentials_of(account) == [passkey, key]
    assert wa.credentials_of(account, mfa_only=False) == [passkey]
    assert wa.credentials_of(account, mfa_only=True) == [key]


def test_credential_dto(account_factory, register):
    credential = register(account_factory(), SoftAuthenticator(ORIGIN), backup_eligible=True)

    dto = wa.credential_dto(credential)

    assert list(dto) == [
        "id",
        "public_key",
        "attestation_type",
        "aaguid",
        "last_used_at",
        "created_at",
        "transports",
        "backup_eligible",
        "backup_state",
        "mfa_only",
    ]
    assert dto["id"] == credential.id and dto["public_key"] == credential.public_key
    assert (dto["attestation_type"], dto["aaguid"], dto["transports"]) == (
        "none",
        "00000000-0000-0000-0000-000000000000",
        ["internal"],
    )
    assert (dto["backup_eligible"], dto["backup_state"], dto["mfa_only"]) == (True, False, False)
    assert RFC3339.match(dto["created_at"]) and RFC3339.match(dto["last_used_at"])


def test_credential_dto_has_the_name_when_set_and_omits_an_unknown_last_use(
    account_factory, register
):
    credential = register(account_factory(), SoftAuthenticator(ORIGIN))
    WebauthnCredential.objects.filter(pk=credential.pk).update(name="YubiKey", last_used_at=None)

    dto = wa.credential_dto(WebauthnCredential.objects.get(pk=credential.pk))

    assert dto["name"] == "YubiKey" and list(dto)[:2] == ["id", "name"]
    assert "last_used_at" not in dto


def test_profile_data_lists_passkeys_and_security_keys(account_factory, register):
    account = account_factory()
    assert not {"passkeys", "security_keys"} & set(profile.profile_data(account))

    passkey = register(account, SoftAuthenticator(ORIGIN))
    data = profile.profile_data(account)
    assert data["passkeys"] == [wa.credential_dto(passkey)]
    assert "security_keys" not in data

    key = register(account, SoftAuthenticator(ORIGIN), mfa_only=True)
    data = profile.profile_data(account)
    assert data["security_keys"] == [wa.credential_dto(key)]
    assert list(data)[:5] == ["id", "user_id", "passkeys", "security_keys", "mfa_config"]


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"PASSKEY": {"ENABLED": False}}, {"security_keys"}),
        ({"MFA": {"SECURITY_KEYS": {"ENABLED": False}}}, {"passkeys"}),
        ({"PASSKEY": {"ENABLED": False}, "MFA": {"SECURITY_KEYS": {"ENABLED": False}}}, set()),
    ],
)
def test_profile_data_follows_the_settings(
    account_factory, register, settings, relying_party, override, expected
):
    account = account_factory()
    register(account, SoftAuthenticator(ORIGIN))
    register(account, SoftAuthenticator(ORIGIN), mfa_only=True)
    settings.HANKOFLOW = {**relying_party, **override}

    assert {"passkeys", "security_keys"} & set(profile.profile_data(account)) == expected


def test_credentials_go_with_their_account(account_factory, register):
    account = account_factory()
    register(account, SoftAuthenticator(ORIGIN))
    account.user.delete()
    assert not WebauthnCredential.objects.exists()
