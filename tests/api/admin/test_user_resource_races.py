"""Concurrent admin API requests on a user's resources (PostgreSQL): the account's row lock
keeps ``EMAIL.LIMIT`` and ``SESSION.LIMIT``, and a conflict is a 4xx, never a 500."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from hankoflow.models import Email, Session
from tests.concurrency import run_concurrently

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
]


def poster(client, url: str, body: dict):
    payload = json.dumps(body)
    return lambda: client.post(url, payload, content_type="application/json").status_code


def deleter(client, url: str):
    return lambda: client.delete(url).status_code


@override_settings(HANKOFLOW={"EMAIL": {"LIMIT": 2}})
def test_two_addresses_for_the_last_free_place_give_one_409(admin_api, account_factory):
    account = account_factory("a@example.com")
    url = f"/admin-api/users/{account.pk}/emails"
    calls = [
        poster(admin_api(), url, {"address": "b@example.com"}),
        poster(admin_api(), url, {"address": "c@example.com"}),
    ]
    assert sorted(run_concurrently(calls, atomic=False)) == [201, 409]
    assert Email.objects.filter(account=account).count() == 2


def test_one_address_for_two_users_gives_one_400(admin_api, account_factory):
    first, second = account_factory("a@example.com"), account_factory("b@example.com")
    calls = [
        poster(admin_api(), f"/admin-api/users/{user.pk}/emails", {"address": "x@example.com"})
        for user in (first, second)
    ]
    assert sorted(run_concurrently(calls, atomic=False)) == [201, 400]
    assert Email.objects.filter(address="x@example.com").count() == 1


@override_settings(HANKOFLOW={"SESSION": {"LIMIT": 2}})
def test_concurrent_sessions_stay_within_the_limit(admin_api, account_factory):
    account = account_factory("a@example.com")
    calls = [
        poster(admin_api(), "/admin-api/sessions", {"user_id": str(account.pk)}) for _ in range(4)
    ]
    assert run_concurrently(calls, atomic=False) == [200] * 4
    assert Session.objects.filter(account=account).count() == 2


def test_deleting_one_address_twice_gives_one_404(admin_api, account_factory):
    account = account_factory("a@example.com")
    second = Email.objects.create(account=account, address="b@example.com")
    url = f"/admin-api/users/{account.pk}/emails/{second.pk}"
    calls = [deleter(admin_api(), url) for _ in range(2)]
    assert sorted(run_concurrently(calls, atomic=False)) == [204, 404]
