"""bin/bench's peer (django-allauth headless): skipped cleanly when its virtualenv cannot be
built (no network in CI), and its targets printed as ratios. No server, no network, no timing."""

import subprocess
from collections import Counter

from bench import peer_setup, run


def test_peer_is_skipped_with_a_message_when_its_venv_cannot_be_built(tmp_path, monkeypatch):
    monkeypatch.setattr(peer_setup, "PEER_VENV", tmp_path / "venv")
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venv" / "bin" / "python").touch()  # a venv whose packages are missing

    def offline(cmd, **kwargs):
        raise subprocess.CalledProcessError(
            1, cmd, stderr="ERROR: No matching distribution found for django-allauth==65.22.1"
        )

    monkeypatch.setattr(peer_setup.subprocess, "run", offline)
    said: list[str] = []

    assert peer_setup.peer_python(said.append) is None
    assert "peer skipped" in said[-1]
    assert "No matching distribution found" in said[-1]
    assert "--no-peer" in said[-1]


def test_start_peer_gives_nothing_when_there_is_no_venv(tmp_path, monkeypatch):
    monkeypatch.setattr(peer_setup, "peer_python", lambda log: None)
    database = run.Database(f"sqlite:///{tmp_path / 'db'}", "test", "sqlite")

    assert run.start_peer(database, {}, tmp_path, "pw") == (None, None, None)


def _result(key: str, rate: float) -> run.LoadResult:
    return run.LoadResult(
        key, ok=int(rate * 10), failed=0, elapsed=10.0, latencies=[0.01], statuses=Counter()
    )


def _bench(peer: run.Peer | None, rates: dict[str, float]) -> run.Bench:
    seeded = run.Seeded("example.com", "pw", [], [])
    bench = run.Bench(1, 1.0, 1, seeded, None, peer)
    bench.results = {key: [_result(key, rate)] for key, rate in rates.items()}
    return bench


OURS = {"A": 1000, "B": 700, "C": 800, "D": 2000, "E": 50, "F": 40, "G": 1000}


def test_targets_against_the_peer_are_ratios_with_pass_or_fail():
    peer = run.Peer(2, run.Seeded("example.com", "pw", [], []), None)
    bench = _bench(peer, {**OURS, "S": 4000, "P": 250, "Q": 40, "R": 1100})

    lines = [line for line in bench.targets() if line.startswith("Target:")]

    assert "Target: G/R request.user vs allauth's JWT check 0.91 (>= 0.8) PASS" in lines
    assert "Target: E/P password chain vs allauth's one-request login 0.20 (>= 0.6) FAIL" in lines
    assert "Target: F/Q passcode chain vs allauth's code login 1.00 (>= 0.8) PASS" in lines
    assert (
        "Target: B/A register_client_capabilities vs baseline SELECT+UPDATE 0.70 (>= 0.6) PASS"
        in lines
    )
    assert "  G/R round by round: 0.91" in bench.targets()
    assert bench.order() == "ABCDSEPFQGR"  # each peer scenario right after its counterpart
    assert [row[0] for row in bench.table().splitlines()[2:]] == list("ABCDSEPFQGR")


def test_without_the_peer_only_our_targets_are_printed():
    bench = _bench(None, OURS)

    lines = [line for line in bench.targets() if line.startswith("Target:")]

    assert len(lines) == 3
    assert not any("allauth" in line for line in lines)
    assert bench.order() == "ABCDEFG"
