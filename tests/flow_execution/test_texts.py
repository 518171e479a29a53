"""The dialect's words are the flow page's words (same msgids, so the same translations)."""

from __future__ import annotations

import pytest
from django.utils import translation

from hankoflow import wording as ours
from hankoflow.web import texts as page

TABLES = ["STATE_TEXTS", "ACTION_LABELS", "INPUT_LABELS", "ERROR_MESSAGES"]
BEYOND_HANKO = {
    "password_recovery_init",
    "password_changed",
    "invited_registration_init",
    "continue_with_recovery_identifier",
    "redeem_invitation",
    ("invited_registration_init", "code"),
}


def english(value) -> object:
    with translation.override("en"):
        return tuple(map(str, value)) if isinstance(value, tuple) else str(value)


@pytest.mark.parametrize("table", TABLES)
def test_every_word_the_page_also_has_is_the_same(table):
    mine, theirs = getattr(ours, table), getattr(page, table)
    shared = set(mine) & set(theirs)
    assert shared
    assert {key: english(mine[key]) for key in shared} == {
        key: english(theirs[key]) for key in shared
    }
    assert set(mine) - set(theirs) <= BEYOND_HANKO


@pytest.mark.parametrize("language", ["de", "fr", "zh-hans"])
def test_hanko_states_are_translated(language):
    heading, sentence = ours.state_text("registration", "passcode_confirmation")
    with translation.override(language):
        assert str(heading) != "Check your email"
        assert str(ours.action_label("passcode_confirmation", "verify_passcode")) != "Confirm"
