"""Two profile steps deleting the last two passkeys of an account at once (flow-api.md §4.3.2
#18): the account lock makes the second one decide on what the first left, so the account keeps
a way to sign in. PostgreSQL only: SQLite serialises writers and would hide the race."""

from __future__ import annotations

import time

import pytest

from hankoflow import names as n
from hankoflow.models import WebauthnCredential
from hankoflow.services import webauthn
from tests.concurrency import run_concurrently
from tests.flows.profile.test_webauthn import add_credential

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
]

DELETE = n.ACTION_WEBAUTHN_CREDENTIAL_DELETE


def test_two_deletes_of_the_last_two_passkeys_cannot_both_succeed(
    profile_session, account_factory, soft_authenticator, monkeypatch
):
    # No email and no password: the passkeys are the only way in.
    account = account_factory(email=None, username="pat", passkey=soft_authenticator)
    add_credential(account, soft_authenticator)
    ids = list(WebauthnCredential.objects.filter(account=account).values_list("pk", flat=True))
    people = [profile_session(account), profile_session(account)]
    states = [person.start() for person in people]
    assert all(DELETE in state.body["actions"] for state in states)

    original = webauthn.delete_credential

    def slow_delete(credential, **kwargs):
        time.sleep(0.3)  # hold the lock while the rival's step reaches it
        return original(credential, **kwargs)

    monkeypatch.setattr(webauthn, "delete_credential", slow_delete)

    def delete(index):
        return lambda: people[index].act(states[index], DELETE, {"passkey_id": ids[index]})

    results = run_concurrently([delete(0), delete(1)], atomic=False)

    assert sorted(r.status for r in results) == [200, 403], [r.body for r in results]
    assert WebauthnCredential.objects.filter(account=account).count() == 1


def test_the_app_and_the_last_security_key_cannot_both_go_under_mandatory_mfa(
    profile_session, account_factory, soft_authenticator, monkeypatch, settings
):
    import pyotp

    from hankoflow.services import totp

    settings.HANKOFLOW = {**settings.HANKOFLOW, "MFA": {"OPTIONAL": False}}
    account = account_factory(password="correct horse battery", totp=pyotp.random_base32())
    key = add_credential(account, soft_authenticator, mfa_only=True)
    people = [profile_session(account), profile_session(account)]
    states = [person.start() for person in people]
    assert n.ACTION_OTP_SECRET_DELETE in states[0].body["actions"]
    assert n.ACTION_SECURITY_KEY_DELETE in states[1].body["actions"]

    def slowly(original):
        def call(*args, **kwargs):
            time.sleep(0.3)  # hold the lock while the rival's step reaches it
            return original(*args, **kwargs)

        return call

    monkeypatch.setattr(webauthn, "delete_credential", slowly(webauthn.delete_credential))
    monkeypatch.setattr(totp, "remove_secret", slowly(totp.remove_secret))

    results = run_concurrently(
        [
            lambda: people[0].act(states[0], n.ACTION_OTP_SECRET_DELETE),
            lambda: people[1].act(
                states[1], n.ACTION_SECURITY_KEY_DELETE, {"security_key_id": key.pk}
            ),
        ],
        atomic=False,
    )

    assert sorted(r.status for r in results) == [200, 403], [r.body for r in results]
    left = totp.has_secret(account) + WebauthnCredential.objects.filter(account=account).count()
    assert left == 1
