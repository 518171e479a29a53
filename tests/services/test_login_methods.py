"""Which ways to sign in are left (services/login_methods.py; flow-api.md §4.3.2 #9, #15, #18)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from hankoflow.services.login_methods import Credentials, can_sign_in


def have(*, password=False, username=False, emails=0, passkeys=0) -> Credentials:
    return Credentials(password=password, username=username, emails=emails, passkeys=passkeys)


def test_an_email_alone_signs_in_by_passcode():
    assert can_sign_in(have(emails=1))
    with override_settings(HANKOFLOW={"EMAIL": {"USE_FOR_AUTHENTICATION": False}}):
        assert not can_sign_in(have(emails=1))


def test_a_password_needs_an_identifier_to_type():
    off = {"EMAIL": {"USE_FOR_AUTHENTICATION": False}}
    with override_settings(HANKOFLOW=off):
        assert can_sign_in(have(password=True, emails=1))
        assert not can_sign_in(have(password=True, username=True))  # usernames are off
    with override_settings(HANKOFLOW={**off, "USERNAME": {"ENABLED": True}}):
        assert can_sign_in(have(password=True, username=True))
        assert not can_sign_in(have(password=True, username=True), without_username=True)
        assert not can_sign_in(have(password=True, username=True), without_password=True)


def test_a_username_can_carry_the_passcode_when_addresses_are_no_identifier():
    settings = {"USERNAME": {"ENABLED": True}, "EMAIL": {"USE_AS_LOGIN_IDENTIFIER": False}}
    with override_settings(HANKOFLOW=settings):
        assert can_sign_in(have(username=True, emails=1))
        assert not can_sign_in(have(username=True, emails=1), without_username=True)
        assert not can_sign_in(have(emails=1))


@pytest.mark.parametrize(
    ("passkeys", "removed", "left"), [(1, 0, True), (1, 1, False), (2, 1, True)]
)
def test_passkeys(passkeys, removed, left):
    with override_settings(HANKOFLOW={"EMAIL": {"USE_FOR_AUTHENTICATION": False}}):
        assert can_sign_in(have(passkeys=passkeys), without_passkeys=removed) is left
    with override_settings(HANKOFLOW={"PASSKEY": {"ENABLED": False}}):
        assert not can_sign_in(have(passkeys=passkeys))


def test_credentials_of_an_account_count_passkeys_not_security_keys(account_factory):
    from hankoflow.models import WebauthnCredential
    from hankoflow.services import accounts

    account = account_factory("keys@example.com", password="correct horse battery")
    WebauthnCredential.objects.create(
        id="a2V5", account=account, public_key="x", attestation_type="none", mfa_only=True
    )
    facts = Credentials.of(accounts.get(account.id))
    assert facts == Credentials(password=True, username=False, emails=1, passkeys=0)


def test_a_saml_identity_of_an_enabled_provider_counts_as_a_way_in(account_factory, settings):
    from hankoflow.models import Identity

    account = account_factory(email=None, username="sam")
    Identity.objects.create(
        account=account,
        provider_id="https://idp.corp.example/",
        subject="s1",
        email="sam@corp.example",
        email_verified=True,
    )
    off = {"EMAIL": {"USE_FOR_AUTHENTICATION": False}}
    provider = {"NAME": "Corp", "DOMAIN": "corp.example", "METADATA": "<x/>", "ENABLED": True}
    settings.HANKOFLOW = {**off, "SAML": {"ENABLED": True, "IDENTITY_PROVIDERS": [provider]}}
    assert can_sign_in(account)
    settings.HANKOFLOW = {**off, "SAML": {"ENABLED": False, "IDENTITY_PROVIDERS": [provider]}}
    assert not can_sign_in(account)
