"""WebAuthn races on PostgreSQL (security-checks WA-01, WA-05; RE-07).

Threads with their own connection and transaction (as concurrent flow steps have) verify the
same response at the same instant behind a barrier; SQLite serialises writers and would hide the
race, so this runs on PostgreSQL only (``bin/test``, or ``bin/services start`` + env).
"""

from __future__ import annotations

import pytest

from hankoflow.models import WebauthnCredential
from hankoflow.services import webauthn as wa
from hankoflow.testing.webauthn import SoftAuthenticator
from tests.concurrency import run_concurrently
from tests.services.webauthn.conftest import ORIGIN, creation_options, request_options

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
]


def test_one_assertion_verified_twice_at_once_succeeds_once(account_factory, register, flow_id):
    device = SoftAuthenticator(ORIGIN)
    credential = register(account_factory(), device)
    options = request_options(flow_id=flow_id)
    response = device.get(options.options)

    def verify():
        return wa.verify_authentication(options.challenge_id, response, flow_id=flow_id)

    results = run_concurrently([verify, verify], returning=wa.WebauthnInvalid)

    assert sum(isinstance(r, wa.Assertion) for r in results) == 1
    assert sum(isinstance(r, wa.WebauthnInvalid) for r in results) == 1
    assert WebauthnCredential.objects.get(pk=credential.pk).sign_count == 1


def test_one_attestation_verified_twice_at_once_succeeds_once(account_factory, flow_id):
    options = creation_options(account_factory(), flow_id=flow_id)
    response = SoftAuthenticator(ORIGIN).create(options.options)

    def verify():
        return wa.verify_registration(options.challenge_id, response, flow_id=flow_id)

    results = run_concurrently([verify, verify], returning=wa.WebauthnInvalid)

    assert sum(isinstance(r, wa.NewCredential) for r in results) == 1


def test_concurrent_assertions_never_lower_the_stored_sign_count(account_factory, register):
    device = SoftAuthenticator(ORIGIN)
    credential = register(account_factory(), device)
    pairs = []
    for count in range(1, 9):
        options = request_options()
        pairs.append((options.challenge_id, device.get(options.options, sign_count=count)))

    def verify(challenge_id, response):
        return lambda: wa.verify_authentication(challenge_id, response, flow_id=None)

    results = run_concurrently([verify(*pair) for pair in pairs], returning=wa.WebauthnInvalid)

    stored = WebauthnCredential.objects.get(pk=credential.pk).sign_count
    succeeded = [r.credential.sign_count for r in results if isinstance(r, wa.Assertion)]
    assert succeeded and stored == max(succeeded)
