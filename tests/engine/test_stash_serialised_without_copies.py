"""``Stash.to_dict(copy=False)``: what a store serialises at once, without copying the data."""

from __future__ import annotations

import json

from hankoflow.engine import HistoryItem, Stash


def test_a_stash_dict_without_copies_serialises_as_the_deep_copy_and_shares_the_data():
    item = HistoryItem("a", None, ["b"], {"k": {"nested": [1, 2]}}, True)
    stash = Stash(
        state="b", prev_state="a", scheduled=["c"], data={"x": [{"y": 1}]}, history=[item]
    )
    shared = stash.to_dict(copy=False)
    assert json.dumps(shared) == json.dumps(stash.to_dict())
    assert Stash.from_dict(json.loads(json.dumps(shared))) == stash
    assert shared["data"] is stash.data
    assert shared["history"][0]["data"] is item.data
    assert stash.to_dict()["data"] is not stash.data
