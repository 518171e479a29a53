"""Admin API metadata, ``/users/{id}/metadata`` (platform.md §4.3.6)."""

from __future__ import annotations

import json
import uuid

import pytest

from hankoflow.models import Account
from hankoflow.services import api_keys, metadata

pytestmark = pytest.mark.django_db


def url(account_id) -> str:
    return f"/admin-api/users/{account_id}/metadata"


def patch(client, account_id, body):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.generic("PATCH", url(account_id), raw, "application/json")


def stored(account) -> dict:
    account = Account.objects.get(pk=account.pk)
    return {c: metadata.read(account, c) for c in metadata.CATEGORIES}


@pytest.fixture
def filled(account):
    metadata.patch(account, metadata.PUBLIC, {"role": "admin", "tier": {"level": 1}})
    metadata.patch(account, metadata.PRIVATE, {"internal": "x"})
    metadata.patch(account, metadata.UNSAFE, {"birthday": "2000-01-01"})
    return account


def test_get_without_metadata_is_204(admin_api, account):
    response = admin_api("read").get(url(account.pk))
    assert response.status_code == 204 and response.content == b""


def test_get_lists_the_non_empty_categories(admin_api, account):
    metadata.patch(account, metadata.PRIVATE, {"a": 1})
    response = admin_api("read").get(url(account.pk))
    assert response.status_code == 200
    assert response.json() == {"private_metadata": {"a": 1}}


def test_unknown_user_and_bad_id(admin_api):
    client = admin_api()
    for response in (client.get(url(uuid.uuid4())), patch(client, uuid.uuid4(), {})):
        assert response.status_code == 404 and response.json()["message"] == "user not found"
    assert client.get(url("nope")).status_code == 400


def test_patch_merges_each_category(admin_api, filled):
    response = patch(
        admin_api(),
        filled.pk,
        {
            "public_metadata": {"tier": {"level": 2, "since": "now"}, "role": None},
            "private_metadata": None,
            "unsafe_metadata": {},
            "something_else": {"ignored": True},
        },
    )
    assert response.status_code == 200
    expected = {
        "public_metadata": {"tier": {"level": 2, "since": "now"}},
        "unsafe_metadata": {"birthday": "2000-01-01"},
    }
    assert response.json() == expected
    assert stored(filled) == {**expected, "private_metadata": None}


def test_null_clears_everything_and_answers_204(admin_api, filled):
    response = patch(admin_api(), filled.pk, None)
    assert response.status_code == 204
    assert stored(filled) == dict.fromkeys(metadata.CATEGORIES)


def test_an_empty_object_changes_nothing(admin_api, filled):
    before = stored(filled)
    response = patch(admin_api(), filled.pk, {})
    assert response.status_code == 200
    assert stored(filled) == before


@pytest.mark.parametrize("value", ["", "text", [], [1], 5, True])
def test_a_category_that_is_no_object_is_400(admin_api, filled, value):
    before = stored(filled)
    response = patch(
        admin_api(), filled.pk, {"unsafe_metadata": {"x": 1}, "public_metadata": value}
    )
    assert response.status_code == 400
    assert response.json()["message"] == "public_metadata must be an object or null"
    assert stored(filled) == before


@pytest.mark.parametrize("body", [b"", b'""', b'"text"', b"[]", b"5", b"true", b"{", b"[1,"])
def test_a_body_that_is_no_object_is_400(admin_api, filled, body):
    before = stored(filled)
    assert patch(admin_api(), filled.pk, body).status_code == 400
    assert stored(filled) == before


def test_over_the_limit_is_400_and_nothing_changes(admin_api, filled):
    before = stored(filled)
    big = {"private_metadata": {"ok": 1}, "public_metadata": {"x": "a" * metadata.LIMIT}}
    response = patch(admin_api(), filled.pk, big)
    assert response.status_code == 400
    assert response.json()["message"].startswith("metadata limit exceeded: ")
    assert stored(filled) == before  # private_metadata was not patched either


def test_deep_nesting_is_400_not_500(admin_api, account):
    body = b'{"public_metadata": ' + b'{"a": ' * 3000 + b"1" + b"}" * 3001
    assert patch(admin_api(), account.pk, body).status_code == 400


def test_a_read_key_cannot_patch(admin_api, filled):
    before = stored(filled)
    assert patch(admin_api(api_keys.READ), filled.pk, None).status_code == 403
    assert stored(filled) == before
