"""Password checks of ../shared/spec/security-checks.md §4 C (PW-01 ... PW-08) that the suites
elsewhere do not already prove; docs/security-checks.md maps every check to its tests."""

from __future__ import annotations

import unicodedata
import uuid

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import project.settings as production
from hankoflow import errors
from hankoflow.models import Session
from hankoflow.services import accounts, passwords

EMAIL = "jane@example.com"
NO_WEBAUTHN = {"webauthn_available": False}


def new_account(password: str) -> accounts.Account:
    account = accounts.create(
        uuid.uuid4(),
        email=f"{uuid.uuid4().hex[:12]}@example.com",
        email_verified=True,
        username=None,
        password_hash=passwords.hash_password(password),
    )
    return accounts.get(account.id)


# --- PW-01 storage --------------------------------------------------------------------------------


def test_the_production_settings_hash_with_argon2id_and_list_no_weak_hasher():
    hashers = production.PASSWORD_HASHERS
    assert hashers[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    weak = ("MD5", "SHA1", "Unsalted", "Crypt")
    assert not [h for h in hashers if any(w in h for w in weak)]


def test_argon2_hashes_are_argon2id():
    pytest.importorskip("argon2")
    hasher = Argon2PasswordHasher()
    encoded = hasher.encode("a long enough password", hasher.salt())
    assert encoded.startswith("argon2$argon2id$")
    assert hasher.verify("a long enough password", encoded)


def test_64_characters_are_accepted_and_over_72_bytes_is_a_field_error():
    assert passwords.new_password_errors("p" * 64) is None
    assert passwords.new_password_errors("p" * 73) == errors.VALUE_TOO_LONG


def test_an_overlong_password_at_login_is_a_field_error_not_a_500(flow_client, account_factory):
    account_factory(EMAIL, password="a long enough password")
    state = flow_client.act(flow_client.start("login"), "register_client_capabilities", NO_WEBAUTHN)
    state = flow_client.act(state, "continue_with_login_identifier", {"email": EMAIL})
    state = flow_client.act(state, "continue_to_password_login")
    for raw in ("x" * 10_000, "ü" * 5_000):
        refused = flow_client.act(state, "password_login", {"password": raw})
        assert refused.status == 400, refused.status
        state = refused


# --- PW-02 policy ---------------------------------------------------------------------------------


def test_the_production_settings_have_no_composition_rules_and_the_common_list():
    names = [v["NAME"].rsplit(".", 1)[1] for v in production.AUTH_PASSWORD_VALIDATORS]
    assert "NumericPasswordValidator" not in names
    assert {"CommonPasswordValidator", "UserAttributeSimilarityValidator"} <= set(names)


@pytest.mark.django_db
@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(raw=st.text(min_size=8, max_size=24).filter(lambda s: "\x00" not in s))
def test_any_unicode_password_round_trips_exactly(raw):
    """Set and verify treat the password alike: as typed, no trimming, no normalisation."""
    account = new_account(raw)
    assert passwords.check_login(account, raw)
    assert not passwords.check_login(account, raw + " ")


@pytest.mark.django_db
def test_no_unicode_normalisation_at_set_or_verify():
    """Decision (docs/security-checks.md PW-02): no NFKC, as in Hanko and Django; the same
    (none) at set and verify, so a password verifies exactly as it was set."""
    composed = "caf\u00e9 au lait!"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    account = new_account(composed)
    assert passwords.check_login(account, composed)
    assert not passwords.check_login(account, decomposed)


# --- PW-03 a pluggable checker and its failure policy ---------------------------------------------


class UnreachableBreachService:
    """A breached-password validator whose service is down."""

    def validate(self, password, user=None):
        raise ConnectionError("range API unreachable")

    def get_help_text(self):
        return ""


class BreachedPassword:
    def validate(self, password, user=None):
        from django.core.exceptions import ValidationError

        if password == "breached but long":
            raise ValidationError("This password appeared in a breach.", code="pwned")

    def get_help_text(self):
        return ""


def test_a_breach_validator_in_the_settings_refuses_a_breached_password(settings):
    settings.AUTH_PASSWORD_VALIDATORS = [{"NAME": f"{__name__}.BreachedPassword"}]
    error = passwords.new_password_errors("breached but long")
    assert error.code == errors.VALUE_INVALID.code and "breach" in error.cause
    assert passwords.new_password_errors("not breached at all") is None


def test_a_failing_breach_validator_fails_closed(flow_client, passcode_outbox, settings):
    """Policy: fail closed. The step answers technical_error and no account is created."""
    settings.AUTH_PASSWORD_VALIDATORS = [{"NAME": f"{__name__}.UnreachableBreachService"}]
    state = flow_client.act(
        flow_client.start("registration"), "register_client_capabilities", NO_WEBAUTHN
    )
    state = flow_client.act(state, "register_login_identifier", {"email": EMAIL})
    state = flow_client.act(state, "verify_passcode", {"code": passcode_outbox(EMAIL)})
    failed = flow_client.act(state, "register_password", {"new_password": "a long password"})
    assert failed.status == 500 and failed.error_code == "technical_error"
    assert accounts.find_by_email(EMAIL) is None
    assert Session.objects.count() == 0
