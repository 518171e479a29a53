"""What the engine's per-step helpers promise: the stash's snapshot and ``to_dict`` are deep,
independent copies in the shape the store writes, and CSRF tokens draw every character with
equal chance from one read of the system's randomness (flow-api.md §1.9)."""

from __future__ import annotations

import dataclasses
import secrets
import string

from hankoflow.engine import HistoryItem, Stash, new_csrf_token
from hankoflow.engine.tokens import random_alphanumeric


def full_stash() -> Stash:
    return Stash(
        state="second",
        prev_state="start",
        scheduled=["third"],
        data={"a": {"b": [1, {"c": "d"}]}, "sticky.s": [True, None, 2.5], "t": (1, 2)},
        history=[
            HistoryItem(
                state="start",
                prev_state=None,
                scheduled=["second", "third"],
                data={"x": {"y": ["z"]}},
                revertible=False,
            )
        ],
    )


def mutate_everything(stash: Stash) -> None:
    stash.state = "changed"
    stash.scheduled.append("more")
    stash.data["a"]["b"][1]["c"] = "changed"
    stash.data["sticky.s"].append("more")
    stash.history[0].data["x"]["y"].append("more")
    stash.history[0].scheduled.append("more")
    stash.history.append(HistoryItem("h", None, [], {}, True))


def test_a_snapshot_is_equal_and_shares_nothing_mutable():
    original = full_stash()
    copy = original.snapshot()
    assert copy == original
    mutate_everything(copy)
    assert original == full_stash()


def test_to_dict_is_what_dataclasses_asdict_gives_and_shares_nothing_mutable():
    original = full_stash()
    as_dict = original.to_dict()
    assert as_dict == dataclasses.asdict(full_stash())
    assert list(as_dict) == ["state", "prev_state", "scheduled", "data", "history"]
    assert list(as_dict["history"][0]) == ["state", "prev_state", "scheduled", "data", "revertible"]
    as_dict["data"]["a"]["b"][1]["c"] = "changed"
    as_dict["history"][0]["data"]["x"]["y"].append("more")
    as_dict["scheduled"].append("more")
    assert original == full_stash()


def test_to_dict_and_from_dict_round_trip():
    original = full_stash()
    assert Stash.from_dict(original.to_dict()) == original


def test_csrf_tokens_drop_the_bytes_that_would_bias_the_alphabet(monkeypatch):
    """62 letters and digits: only bytes below 248 (4 x 62) map evenly, the rest are skipped."""
    reads = iter([bytes(range(248, 256)) * 5, bytes(range(60)), bytes(range(248))])
    monkeypatch.setattr(secrets, "token_bytes", lambda n: next(reads)[:n])
    alphabet = string.digits + string.ascii_letters
    assert new_csrf_token() == alphabet[:32]


def test_random_characters_are_uniform(monkeypatch):
    every_byte = bytes(range(256)) * 2
    monkeypatch.setattr(secrets, "token_bytes", lambda n: every_byte)
    drawn = random_alphanumeric(496)  # all 2 x 248 usable bytes
    counts = {char: drawn.count(char) for char in string.digits + string.ascii_letters}
    assert set(counts.values()) == {8}  # each of the 62 characters from 4 of the 248 bytes, twice
