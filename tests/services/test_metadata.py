"""User metadata: RFC 7386 merge patches, the 3000-character limit, reading and the profile's
view of it (platform.md §1.14, §4.3.6; flow-api.md §4.3.2 #11, §4.6.1)."""

from __future__ import annotations

import pytest

from hankoflow.models import Account
from hankoflow.services import metadata


@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [
        # The examples of RFC 7386 §3.
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"a": "foo"}, None, None),
        ({"a": "foo"}, "bar", "bar"),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_follows_rfc_7386(target, patch, result):
    assert metadata.merge_patch(target, patch) == result


def test_merge_patch_leaves_its_arguments_alone():
    target, patch = {"a": {"b": 1}}, {"a": {"c": 2}}
    metadata.merge_patch(target, patch)
    assert target == {"a": {"b": 1}} and patch == {"a": {"c": 2}}


@pytest.fixture
def account(account_factory) -> Account:
    return account_factory()


def test_an_account_starts_without_metadata(account):
    assert [metadata.read(account, c) for c in metadata.CATEGORIES] == [None, None, None]
    assert metadata.profile_metadata(account) is None


def test_a_patch_merges_into_the_stored_object(account):
    metadata.patch(account, metadata.UNSAFE, {"theme": "dark", "nested": {"a": 1, "b": 2}})
    result = metadata.patch(account, metadata.UNSAFE, {"nested": {"a": None}, "lang": "de"})

    assert result == {"theme": "dark", "nested": {"b": 2}, "lang": "de"}
    account.refresh_from_db()
    assert account.unsafe_metadata == '{"theme":"dark","nested":{"b":2},"lang":"de"}'


def test_removing_every_key_or_patching_with_null_stores_nothing(account):
    metadata.patch(account, metadata.UNSAFE, {"a": 1})
    assert metadata.patch(account, metadata.UNSAFE, {"a": None}) is None
    account.refresh_from_db()
    assert account.unsafe_metadata is None

    metadata.patch(account, metadata.UNSAFE, {"a": 1, "b": 2})
    assert metadata.patch(account, metadata.UNSAFE, None) is None
    account.refresh_from_db()
    assert account.unsafe_metadata is None


def test_the_limit_counts_characters_of_the_stored_text(account):
    # {"k":"…"} is 8 characters of JSON syntax around the value.
    fits = {"k": "é" * (metadata.LIMIT - 8)}
    metadata.patch(account, metadata.UNSAFE, fits)
    account.refresh_from_db()
    assert len(account.unsafe_metadata) == metadata.LIMIT  # more bytes than that: é is two

    with pytest.raises(metadata.MetadataInvalid) as refused:
        metadata.patch(account, metadata.UNSAFE, {"x": 1})
    assert refused.value.cause == "metadata must not exceed character limit (3000)"
    account.refresh_from_db()
    assert metadata.read(account, metadata.UNSAFE) == fits  # unchanged


def test_a_patch_that_shrinks_an_object_is_judged_on_the_result(account):
    metadata.patch(account, metadata.UNSAFE, {"big": "x" * 2900})
    metadata.patch(account, metadata.UNSAFE, {"big": None, "other": "y" * 2900})
    assert set(metadata.read(account, metadata.UNSAFE)) == {"other"}


def test_categories_are_independent(account):
    metadata.patch(account, metadata.PUBLIC, {"role": "editor"})
    metadata.patch(account, metadata.PRIVATE, {"stripe_id": "cus_1"})
    metadata.patch(account, metadata.UNSAFE, None)
    assert metadata.read(account, metadata.PUBLIC) == {"role": "editor"}
    assert metadata.read(account, metadata.PRIVATE) == {"stripe_id": "cus_1"}


def test_the_profile_shows_public_and_unsafe_never_private(account):
    metadata.patch(account, metadata.PRIVATE, {"secret": 1})
    assert metadata.profile_metadata(account) is None
    metadata.patch(account, metadata.PUBLIC, {"role": "editor"})
    assert metadata.profile_metadata(account) == {"public_metadata": {"role": "editor"}}
    metadata.patch(account, metadata.UNSAFE, {"theme": "dark"})
    assert metadata.profile_metadata(account) == {
        "public_metadata": {"role": "editor"},
        "unsafe_metadata": {"theme": "dark"},
    }


def test_a_stored_empty_object_counts_as_empty(account):
    account.public_metadata = "{}"
    assert metadata.read(account, metadata.PUBLIC) is None
    assert metadata.profile_metadata(account) is None


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ({"a": 1}, {"a": 1}),
        (None, None),
        ('{"a": 1}', {"a": 1}),  # Hanko reads the input as text
        ("null", None),
        ({}, {}),
    ],
)
def test_parse_patch_takes_an_object_or_null(value, parsed):
    assert metadata.parse_patch(value) == parsed


@pytest.mark.parametrize("value", [[1], 1, 1.5, True, "", "text", "[1]", "{not json}", '"{}"'])
def test_parse_patch_refuses_anything_else(value):
    with pytest.raises(metadata.MetadataInvalid) as refused:
        metadata.parse_patch(value)
    assert refused.value.cause == "patch metadata must be an object or null"


def test_an_unknown_category_is_a_programming_error(account):
    with pytest.raises(ValueError, match="unknown metadata category"):
        metadata.read(account, "user_metadata")
