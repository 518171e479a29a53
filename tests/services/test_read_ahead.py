"""hankoflow/services/read_ahead.py: values read together, and what happens without them."""

from __future__ import annotations

from hankoflow.services import read_ahead, shared_cache


class _Cache:
    def __init__(self, values=None, fail=False):
        self.values, self.fail, self.asked = values or {}, fail, []

    def get_many(self, keys):
        self.asked.append(list(keys))
        if self.fail:
            raise ConnectionError("down")
        return {k: self.values[k] for k in keys if k in self.values}


def test_known_answers_inside_the_block_only(monkeypatch):
    cache = _Cache({"a": "1"})
    monkeypatch.setattr(shared_cache, "shared", lambda **_: cache)
    assert read_ahead.known("a") is None
    with read_ahead.reading(["a", "b"]):
        assert (read_ahead.known("a"), read_ahead.known("b")) == ("1", None)
    assert read_ahead.known("a") is None
    assert cache.asked == [["a", "b"]]


def test_a_failing_cache_leaves_the_readers_to_themselves(monkeypatch):
    monkeypatch.setattr(shared_cache, "shared", lambda **_: _Cache(fail=True))
    with read_ahead.reading(["a"]):
        assert read_ahead.known("a") is None
    assert not shared_cache.available()
    shared_cache.reset()


def test_no_shared_cache_reads_nothing(monkeypatch):
    monkeypatch.setattr(shared_cache, "shared", lambda **_: None)
    with read_ahead.reading(["a"]):
        assert read_ahead.known("a") is None
