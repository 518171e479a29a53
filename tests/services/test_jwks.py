"""Signing keys, the JWK set and rotation (platform.md §2.2; security-checks SE-04)."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from cryptography.fernet import InvalidToken
from django.core.management import CommandError, call_command
from django.test import override_settings

from hankoflow import clock
from hankoflow.conf import settings as hankoflow_settings
from hankoflow.models import SigningKey
from hankoflow.services import jwks, sessions
from hankoflow.testing.openapi_public import check

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "k", "oth"}

pytestmark = pytest.mark.django_db


def test_first_use_creates_exactly_one_key():
    assert SigningKey.objects.count() == 0
    first = jwks.signing_key()
    second = jwks.signing_key()
    assert first.kid == second.kid
    assert SigningKey.objects.count() == 1
    assert first.key.key_size == 2048


def test_private_key_is_encrypted_at_rest_with_a_key_derived_from_secret_key():
    key = jwks.signing_key()
    row = SigningKey.objects.get(kid=key.kid)
    stored = row.private_key_encrypted
    assert "PRIVATE KEY" not in stored and "BEGIN" not in stored
    assert jwks.decrypt_private_key(stored).private_numbers() == key.key.private_numbers()
    other = override_settings(SECRET_KEY="another-secret-key-0123456789-abcdefghijklmnop")
    with other, pytest.raises(InvalidToken):
        jwks.decrypt_private_key(stored)


def test_old_secret_key_as_fallback_still_decrypts(settings):
    key = jwks.signing_key()
    old = settings.SECRET_KEY
    row = SigningKey.objects.get(kid=key.kid)
    with override_settings(
        SECRET_KEY="a-rotated-secret-key-0123456789-abcdefghijklmnop", SECRET_KEY_FALLBACKS=[old]
    ):
        assert jwks.decrypt_private_key(row.private_key_encrypted).key_size == 2048


def test_signing_fails_clearly_when_no_secret_decrypts_the_key():
    jwks.signing_key()
    jwks.clear_cache()
    other = override_settings(SECRET_KEY="another-secret-key-0123456789-abcdefghijklmnop")
    with other, pytest.raises(jwks.SigningKeyUnavailable, match="hankoflow_jwk --rotate"):
        jwks.signing_key()


def test_jwks_exposes_public_members_only(client):
    response = client.get("/.well-known/jwks.json")
    body = check(response, "GET", "/.well-known/jwks.json")
    assert response["Cache-Control"] == "max-age=600"
    (key,) = body["keys"]
    assert not PRIVATE_MEMBERS & set(key)
    assert set(key) == {"kty", "kid", "alg", "use", "n", "e"}
    assert (key["kty"], key["alg"], key["use"], key["e"]) == ("RSA", "RS256", "sig", "AQAB")
    assert key["kid"] == jwks.signing_key().kid


def test_stored_private_members_never_leave_even_if_present(client):
    key = jwks.signing_key()
    row = SigningKey.objects.get(kid=key.kid)
    row.public_jwk = {**row.public_jwk, "d": "leak", "p": "leak"}
    row.save()
    (published,) = client.get("/.well-known/jwks.json").json()["keys"]
    assert not PRIVATE_MEMBERS & set(published)


def test_published_key_verifies_issued_tokens(client, issued):
    (jwk,) = client.get("/.well-known/jwks.json").json()["keys"]
    public = jwt.PyJWK(jwk).key
    claims = jwt.decode(issued.token, public, algorithms=["RS256"], audience="localhost")
    assert claims["session_id"] == issued.session_id


def test_rotation_publishes_both_keys_and_old_tokens_still_validate(client, account):
    old_session = sessions.issue(account, amr=[], env=None, remember_me=None)
    old_kid = jwks.signing_key().kid
    new_row = jwks.rotate()
    assert jwks.signing_key().kid == new_row.kid != old_kid
    kids = [k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]]
    assert kids == [new_row.kid, old_kid]  # the signing key first
    new_session = sessions.issue(account, amr=[], env=None, remember_me=None)
    assert sessions.validate(old_session.token) is not None
    assert sessions.validate(new_session.token) is not None
    assert jwt.get_unverified_header(new_session.token)["kid"] == new_row.kid


def test_rotation_retires_keys_whose_tokens_have_all_expired(client, account):
    long_ago = clock.now() - timedelta(seconds=hankoflow_settings.SESSION.LIFESPAN + 3600)
    first = jwks.create_key(now=long_ago - timedelta(days=30))
    second = jwks.rotate(now=long_ago)  # replaced `first` long ago
    third = jwks.rotate()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.retired_at is not None  # its successor is older than the lifespan
    assert second.retired_at is None  # signed until just now: its tokens may still be valid
    kids = {k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]}
    assert kids == {second.kid, third.kid}


def test_retired_key_stops_validating_at_once(account):
    issued = sessions.issue(account, amr=[], env=None, remember_me=None)
    kid = jwks.signing_key().kid
    assert sessions.validate(issued.token) is not None
    assert jwks.retire(kid)
    assert sessions.validate(issued.token) is None
    assert jwks.signing_key().kid != kid  # a new key signs from now on
    assert not jwks.retire(kid)


def test_command_creates_lists_rotates_and_retires(capsys):
    call_command("hankoflow_jwk")
    first = SigningKey.objects.get()
    assert first.kid in capsys.readouterr().out
    call_command("hankoflow_jwk", "--rotate")
    second = SigningKey.objects.exclude(pk=first.pk).get()
    assert f"new signing key {second.kid}" in capsys.readouterr().out
    call_command("hankoflow_jwk", "--list")
    listing = capsys.readouterr().out
    assert f"{second.kid}" in listing and "signing" in listing and "verifying" in listing
    call_command("hankoflow_jwk", "--retire", first.kid)
    assert "retired" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("hankoflow_jwk", "--retire", "no-such-kid")


def test_jwks_reads_the_key_table_once_when_keys_exist(django_assert_num_queries):
    first = jwks.public_jwks()  # creates the first key
    with django_assert_num_queries(1):
        assert jwks.public_jwks() == first


# --- the signing key, remembered per process ----------------------------------------------------


def test_signing_reads_no_key_row_once_this_process_knows_the_signing_key(
    django_assert_num_queries,
):
    first = jwks.signing_key()  # creates the key: a new key is not remembered yet
    assert jwks.signing_key().kid == first.kid  # read once, remembered
    with django_assert_num_queries(0):
        assert jwks.signing_key().kid == first.kid


def test_a_new_key_set_generation_makes_the_signing_key_read_again(
    monkeypatch, django_assert_num_queries
):
    generation = ["one"]
    monkeypatch.setattr(jwks.cache, "key_set_generation", lambda: generation[0])
    jwks.signing_key()
    old = jwks.signing_key()
    # Another process rotated: the key set changed in the database and in the shared cache,
    # and this process's decoded keys were left alone.
    newer = SigningKey.objects.create(
        kid="another-process-key",
        private_key_encrypted=jwks.encrypt_private_key(jwks.generate_private_key()),
        public_jwk={},
        created_at=clock.now() + timedelta(seconds=1),
    )
    with django_assert_num_queries(0):
        assert jwks.signing_key().kid == old.kid  # the generation has not moved yet
    generation[0] = "two"
    assert jwks.signing_key().kid == newer.kid


def test_without_a_shared_cache_the_signing_key_is_read_again_after_the_age_bound(monkeypatch):
    now = [1_000.0]
    monkeypatch.setattr(jwks.cache, "key_set_generation", lambda: None)
    monkeypatch.setattr(jwks.keys.time, "monotonic", lambda: now[0])
    jwks.signing_key()
    old = jwks.signing_key()
    newer = SigningKey.objects.create(  # another process rotated
        kid="another-process-key",
        private_key_encrypted=jwks.encrypt_private_key(jwks.generate_private_key()),
        public_jwk={},
        created_at=clock.now() + timedelta(seconds=1),
    )
    now[0] += jwks.VERIFICATION_CACHE_SECONDS - 1
    assert jwks.signing_key().kid == old.kid  # within the bound: the remembered key
    now[0] += 1
    assert jwks.signing_key().kid == newer.kid


def test_rotating_in_this_process_signs_with_the_new_key_at_once():
    jwks.signing_key()
    jwks.signing_key()
    rotated = jwks.rotate()
    assert jwks.signing_key().kid == rotated.kid
