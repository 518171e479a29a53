"""Legacy sign-ins raced on PostgreSQL: one passcode, one token, one assertion each give one
session, whichever request comes first (SQLite serialises writers and would hide the race)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from hankoflow.models import Session
from hankoflow.services import passcodes
from hankoflow.services.thirdparty import tokens
from tests.concurrency import run_concurrently

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
]


def twice(path, body):
    def call():
        return Client().post(path, json.dumps(body), content_type="application/json").status_code

    return sorted(run_concurrently([call, call], atomic=False))


def test_one_passcode_finalized_twice_at_once_signs_in_once(legacy, account_factory):
    account = account_factory("jane@example.com")
    issued = passcodes.issue(email="jane@example.com", account=account, flow_id=None)

    statuses = twice("/passcode/login/finalize", {"id": issued.id, "code": issued.code})

    assert statuses == [200, 401]
    assert Session.objects.filter(account=account).count() == 1


def test_one_token_exchanged_twice_at_once_signs_in_once(legacy, account_factory):
    account = account_factory()
    value = tokens.issue(account, None, user_created=False, code_verifier="")

    statuses = twice("/token", {"value": value})

    assert statuses == [200, 404]
    assert Session.objects.filter(account=account).count() == 1


def test_one_assertion_finalized_twice_at_once_signs_in_once(
    legacy, account_factory, soft_authenticator
):
    account = account_factory(passkey=soft_authenticator)
    options = Client().post("/webauthn/login/initialize", "{}", content_type="application/json")
    assertion = soft_authenticator.get(options.json())

    statuses = twice("/webauthn/login/finalize", assertion)

    assert statuses == [200, 401]
    assert Session.objects.filter(account=account).count() == 1
