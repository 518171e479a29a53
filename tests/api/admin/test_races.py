"""Concurrent admin API requests on PostgreSQL: a conflict is a 409, never a 500."""

from __future__ import annotations

import json

import pytest

from hankoflow.models import Account
from tests.concurrency import run_concurrently

pytestmark = [
    pytest.mark.slow,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("postgres_only"),
]


def test_two_creations_of_one_address_give_one_user_and_one_409(admin_api):
    client = admin_api()
    body = json.dumps({"emails": [{"address": "race@example.com", "is_primary": True}]})

    def create():
        return client.post("/admin-api/users", body, content_type="application/json").status_code

    statuses = run_concurrently([create, create], atomic=False)
    assert sorted(statuses) == [200, 409]
    assert Account.objects.count() == 1


def test_two_patches_to_one_username_give_one_409(admin_api, account_factory):
    client = admin_api()
    first, second = account_factory("a@example.com"), account_factory("b@example.com")

    def patch(account):
        return lambda: (
            client.patch(
                f"/admin-api/users/{account.id}",
                json.dumps({"username": "wanted"}),
                content_type="application/json",
            ).status_code
        )

    statuses = run_concurrently([patch(first), patch(second)], atomic=False)
    assert sorted(statuses) == [200, 409]
