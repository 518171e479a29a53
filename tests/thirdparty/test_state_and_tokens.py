"""The sealed OAuth state and the one-time exchange tokens."""

import pytest

from hankoflow.models import ExchangeToken
from hankoflow.services.thirdparty import tokens
from hankoflow.services.thirdparty.state import InvalidState, State, open_state

VERIFIER = "v" * 43


def test_state_round_trip_with_pkce_needs_no_cookie():
    state = State.new("custom_x", "https://app.example.com/x", VERIFIER)
    assert open_state(state.seal(), cookie=None) == state


def test_state_without_pkce_needs_the_matching_cookie():
    state = State.new("custom_x", "https://app.example.com/x")
    sealed = state.seal()
    assert open_state(sealed, cookie=sealed) == state
    with pytest.raises(InvalidState):
        open_state(sealed, cookie=None)
    other = State.new("custom_x", "https://app.example.com/x").seal()
    with pytest.raises(InvalidState):
        open_state(sealed, cookie=other)


def test_expired_or_forged_state(clock):
    sealed = State.new("custom_x", "https://app.example.com/x", VERIFIER).seal()
    with pytest.raises(InvalidState):
        open_state(sealed[:-4] + "AAAA", cookie=None)
    clock.advance(seconds=301)
    with pytest.raises(InvalidState):
        open_state(sealed, cookie=None)


@pytest.mark.django_db
def test_token_is_hashed_single_use_and_short_lived(account_factory, clock):
    account = account_factory("t@example.com")
    value = tokens.issue(account, None, user_created=False, code_verifier=VERIFIER)
    assert len(value) == 44 and not ExchangeToken.objects.filter(digest=value).exists()
    with pytest.raises(tokens.VerifierMismatch):
        tokens.consume(value, "w" * 43)
    assert tokens.consume(value, VERIFIER).account == account
    with pytest.raises(tokens.TokenInvalid):
        tokens.consume(value, VERIFIER)
    late = tokens.issue(account, None, user_created=False, code_verifier="")
    clock.advance(seconds=61)
    with pytest.raises(tokens.TokenInvalid):
        tokens.consume(late, None)


@pytest.mark.django_db
def test_issuing_deletes_expired_tokens(account_factory, clock):
    account = account_factory("old@example.com")
    tokens.issue(account, None, user_created=False, code_verifier="")
    clock.advance(seconds=61)
    tokens.issue(account, None, user_created=False, code_verifier="")
    assert ExchangeToken.objects.count() == 1
