"""Passkey API races on PostgreSQL and the shared cache: one finalize, one redeem.

Run with services (``bin/test``, or ``bin/services start`` + env); SQLite would serialise the
writers and hide the race.
"""

from __future__ import annotations

from typing import Any

import pytest

from hankoflow.services import passkey_api
from hankoflow.testing.webauthn import SoftAuthenticator
from tests.concurrency import run_concurrently
from tests.passkey_api.conftest import Api

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
]


def test_one_login_assertion_finalized_twice_at_once_answers_one_token(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    api.register(host_user, soft_authenticator)
    assertion = soft_authenticator.get(api.login_options())

    def finalize() -> str:
        return passkey_api.login_finalize(assertion, mfa=False, env=None)

    results = run_concurrently(
        [finalize, finalize], atomic=False, returning=passkey_api.PasskeyApiError
    )
    assert sum(isinstance(r, str) for r in results) == 1


def test_one_login_token_redeemed_twice_at_once_signs_in_once(
    api: Api, host_user: Any, soft_authenticator: SoftAuthenticator
) -> None:
    api.register(host_user, soft_authenticator)
    assertion = soft_authenticator.get(api.login_options())
    token = api.post("/credentials/login/finalize", assertion, key=False).json()["token"]

    def redeem() -> Any:
        return passkey_api.redeem_login(token)

    results = run_concurrently([redeem, redeem], returning=passkey_api.TokenInvalid)
    assert sum(isinstance(r, passkey_api.TokenInvalid) for r in results) == 1
