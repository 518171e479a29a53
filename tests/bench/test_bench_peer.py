"""bin/bench's peer (django-allauth headless): skipped cleanly when its virtualenv cannot be
built (no network in CI), its targets printed as ratios, and its limits set as ours are. No
server, no network, no timing."""

import json
import os
import secrets
import subprocess
import sys
from collections import Counter

import pytest

from bench import peer_setup, run
from tests.deploy.test_production_files import REPO


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


def _peer_settings(python: str, script: str, **environment: str) -> object:
    """``script``'s JSON output, run in a subprocess that imports the peer's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.pop("PEER_FAILED_LOGIN_LIMIT", None)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.peer.settings",
        SECRET_KEY=secrets.token_urlsafe(50),
        PEER_DATABASE_URL="postgres://someone:secret@127.0.0.1:1/nowhere",
        CACHE_URL="redis://127.0.0.1:1/1",  # never contacted
        REDIS_URL="",
        **environment,
    )
    result = subprocess.run(
        [python, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


SETTINGS = (
    "import json; from bench.peer import settings as s; "
    "print(json.dumps({'limits': s.ACCOUNT_RATE_LIMITS, 'cache': s.CACHES['default']['BACKEND']}))"
)


def test_the_peer_limits_failed_sign_ins_per_email_and_no_requests():
    # hankoflow's attempt budgets stay on in the bench (no setting turns them off), so the
    # peer keeps allauth's counterpart; the limits of requests are off on both sides.
    peer = _peer_settings(sys.executable, SETTINGS)

    limits = peer["limits"]
    assert {action: rate for action, rate in limits.items() if rate} == {
        "login_failed": "5/300s/key"
    }
    assert {"login", "request_login_code", "signup", "reset_password"} <= set(limits)
    # The limit's cache commands go through the same backend as ours.
    assert peer["cache"] == "hankoflow.cache.RedisCache"


def test_the_peer_of_the_earlier_runs_has_every_limit_off():
    peer = _peer_settings(sys.executable, SETTINGS, PEER_FAILED_LOGIN_LIMIT="0")
    assert peer["limits"] is False


def test_allauth_itself_counts_only_failed_sign_ins_per_email():
    python = peer_setup.PEER_VENV / "bin" / "python"
    if not python.exists():
        pytest.skip("the peer's virtualenv is built by bin/bench on first use")
    script = (
        "import json, django; django.setup(); "
        "from allauth.account import app_settings as a; "
        "print(json.dumps({k: v for k, v in a.RATE_LIMITS.items() if v}))"
    )
    # Every action allauth 65.22 limits is named in the settings: none keeps its default.
    assert _peer_settings(str(python), script) == {"login_failed": "5/300s/key"}


def test_the_earlier_peer_is_one_option_away():
    assert run.parse_args([]).peer_without_failed_login_limit is False
    assert run.parse_args(["--peer-without-failed-login-limit"]).peer_without_failed_login_limit
    limited, unlimited = (run.PEER_LEGEND + run.PEER_FAILED_LOGINS[k] for k in (True, False))
    assert "limited per email (allauth's login_failed)" in limited
    assert "--peer-without-failed-login-limit" in unlimited
