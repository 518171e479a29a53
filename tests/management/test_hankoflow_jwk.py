"""``manage.py hankoflow_jwk --retire`` checks and scheduled key rotation (issue 11)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from hankoflow.models import SigningKey
from hankoflow.services import jwks, sessions

pytestmark = pytest.mark.django_db

LIFESPAN = 12 * 3600
DAY = 24 * 3600


@pytest.fixture
def account(account_factory):
    return account_factory("keys@example.com")


def _sign_in(account) -> str:
    return sessions.issue(account, amr=["pwd"], env=None, remember_me=None).token


def _published(client) -> set[str]:
    return {key["kid"] for key in client.get("/.well-known/jwks.json").json()["keys"]}


def test_retiring_the_only_signing_key_is_refused_even_with_force(capsys):
    kid = jwks.signing_key().kid
    for extra in ([], ["--force"]):
        with pytest.raises(CommandError, match="only signing key.*--rotate"):
            call_command("hankoflow_jwk", "--retire", kid, *extra)
    assert SigningKey.objects.get(kid=kid).retired_at is None


def test_retiring_the_signing_key_next_to_older_ones_is_refused():
    first = jwks.signing_key().kid
    second = jwks.rotate().kid
    with pytest.raises(CommandError, match=f"{second} is the signing key"):
        call_command("hankoflow_jwk", "--retire", second)
    call_command("hankoflow_jwk", "--retire", first)  # no sessions: nothing needs it


def test_retiring_a_key_live_sessions_need_is_refused_unless_forced(account, clock, capsys):
    old = jwks.signing_key().kid
    token = _sign_in(account)
    clock.advance(hours=1)
    jwks.rotate()
    with pytest.raises(CommandError, match="1 live session.*--force"):
        call_command("hankoflow_jwk", "--retire", old)
    assert sessions.validate(token) is not None
    call_command("hankoflow_jwk", "--retire", old, "--force")
    assert "retired" in capsys.readouterr().out
    assert sessions.validate(token) is None


def test_a_key_whose_sessions_have_expired_can_be_retired(account, clock):
    clock.stop()  # measured to the second: a slow machine must not age the session meanwhile
    old = jwks.signing_key().kid
    _sign_in(account)
    clock.advance(hours=1)
    jwks.rotate()
    clock.advance(seconds=LIFESPAN - 3600 - 1)
    with pytest.raises(jwks.RetireRefused):
        jwks.check_retire(old)
    clock.advance(seconds=1)  # the session expires now
    call_command("hankoflow_jwk", "--retire", old)


def test_sessions_signed_by_the_next_key_do_not_hold_the_old_one(account, clock):
    old = jwks.signing_key().kid
    jwks.rotate()
    clock.advance(minutes=5)  # past the margin around the rotation
    _sign_in(account)
    call_command("hankoflow_jwk", "--retire", old)


def test_bad_arguments():
    with pytest.raises(CommandError, match="no active key"):
        call_command("hankoflow_jwk", "--retire", "no-such-kid", "--force")
    with pytest.raises(CommandError, match="--force goes with --retire"):
        call_command("hankoflow_jwk", "--force")


def test_scheduled_rotation_is_off_by_default(clock):
    kid = jwks.signing_key().kid
    clock.advance(days=400)
    assert jwks.rotate_if_due() is None
    assert jwks.signing_key().kid == kid


@override_settings(HANKOFLOW={"SESSION": {"KEY_ROTATION": {"INTERVAL": DAY}}})
def test_scheduled_rotation_keeps_the_old_key_until_its_tokens_expire(account, clock, client):
    clock.stop()
    old = jwks.signing_key().kid
    clock.advance(seconds=DAY - 1)
    assert jwks.rotate_if_due() is None
    _sign_in(account)  # the last token the old key signs
    clock.advance(seconds=1)
    new = jwks.rotate_if_due()
    assert new is not None and jwks.signing_key().kid == new.kid
    assert jwks.rotate_if_due() is None  # once per interval
    assert _published(client) == {old, new.kid}
    assert jwks.verification_key(old) is not None
    clock.advance(seconds=LIFESPAN)  # the token has just expired; the key is still published
    assert jwks.rotate_if_due() is None
    assert old in _published(client)
    clock.advance(seconds=1)
    assert jwks.rotate_if_due() is None
    assert _published(client) == {new.kid}
    assert SigningKey.objects.get(kid=old).retired_at is not None


@override_settings(
    HANKOFLOW={"SESSION": {"KEY_ROTATION": {"INTERVAL": 3600}, "LIFESPAN": 4 * 3600}}
)
def test_rotation_faster_than_the_lifespan_publishes_several_keys(clock, client):
    clock.stop()
    kids = [jwks.signing_key().kid]
    for _ in range(6):
        clock.advance(seconds=3600)
        kids.append(jwks.rotate_if_due().kid)
    # Each key signs for an hour and stays published until its last token has expired, 4 hours
    # later: at 6 h the key made at 0 h is retired (its tokens expired at 5 h), the others stay.
    assert _published(client) == set(kids[1:])


def test_rotation_task_is_registered(clock):
    pytest.importorskip("celery")
    from hankoflow import tasks

    with override_settings(HANKOFLOW={"SESSION": {"KEY_ROTATION": {"INTERVAL": 60}}}):
        before = jwks.signing_key().kid
        clock.advance(seconds=60)
        assert tasks.rotate_signing_key.apply().get() not in (None, before)


def test_a_shortened_lifespan_does_not_retire_a_key_live_sessions_need(account, clock):
    old = jwks.signing_key().kid
    _sign_in(account)  # valid for 12 hours
    jwks.rotate()
    clock.advance(hours=2)
    with override_settings(HANKOFLOW={"SESSION": {"LIFESPAN": 3600}}):
        jwks.rotate_if_due()
        assert jwks.verification_key(old) is not None
        clock.advance(hours=10)
        jwks.rotate_if_due()
        assert jwks.verification_key(old) is None
