"""bin/bench's opt-in parts without a server or timing: memory per worker read from /proc
(bench/memory.py), the worker-model table of --workers-compare, --scale's background flows and
table sizes around the cleanup (bench/scale.py), and the options themselves."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import call_command

from bench import memory, run, scale
from hankoflow import clock
from hankoflow.models import Flow


def test_worker_memory_is_read_for_each_child_of_the_master():
    children = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])]
    children.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]))
    try:
        time.sleep(0.2)
        found = memory.workers(os.getpid())
        pids = {child.pid for child in children}
        assert pids <= {m.pid for m in found}
        for measured in found:
            if measured.pid in pids:
                assert measured.rss_kb > 1000  # a Python interpreter
                assert measured.pss_kb is None or 0 < measured.pss_kb <= measured.rss_kb
        assert memory.describe(found).startswith("RSS ")
    finally:
        for child in children:
            child.kill()
            child.wait()


def test_memory_of_a_process_that_is_gone_is_none_and_described_as_not_measured(tmp_path):
    assert memory.process_memory(2**22 + 12345) is None
    assert memory.workers(os.getpid(), proc=tmp_path) == []
    assert memory.describe([]).startswith("not measured")


def test_describe_gives_rss_and_pss_in_megabytes():
    found = [memory.ProcessMemory(1, 102400, 81920), memory.ProcessMemory(2, 97280, 79872)]
    assert memory.describe(found) == "RSS 100, 95 MB; PSS 80, 78 MB"
    assert memory.describe([memory.ProcessMemory(1, 102400, None)]) == "RSS 100 MB"


def _result(rate: float, failed: int = 0) -> run.LoadResult:
    return run.LoadResult("x", int(rate * 10), failed, 10.0, [0.02], Counter())


def test_workers_table_puts_each_variant_next_to_the_main_server_as_a_ratio():
    bench = run.Bench(1, 1.0, 1, run.Seeded("example.com", "pw", [], []), None)
    bench.variants = [
        run.Variant("gthread, keep-alive", 2),
        run.Variant("gthread, conn./request", 2, close=True),
    ]
    bench.results = {"A": [_result(100.0), _result(120.0)], "D": [_result(400.0)]}
    bench.variants[0].results = {"A": [_result(240.0)], "D": [_result(800.0, failed=2)]}
    bench.variants[1].results = {"A": [_result(132.0)]}

    lines = bench.workers_table("2 sync workers").splitlines()

    assert "2 sync workers" in lines[0] and "gthread, keep-alive" in lines[0]
    assert lines[2].startswith("A x ")
    assert "120 (p50 20 ms)" in lines[2]
    assert "240 x2.00" in lines[2] and "132 x1.10" in lines[2]
    assert "800 x2.00 (2 failed)" in lines[3]
    assert lines[3].rstrip().endswith("-")  # D not measured on the third


def test_options_default_to_the_plain_run():
    args = run.parse_args([])
    assert (args.argon2, args.workers_compare, args.scale) == (False, False, 1)
    args = run.parse_args(["--argon2", "--workers-compare", "--scale", "10"])
    assert (args.argon2, args.workers_compare, args.scale) == (True, True, 10)


def test_scale_below_one_is_refused(capsys):
    assert run.main(["--scale", "0"]) == 1
    assert "--scale must be at least 1" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_background_flows_are_live_or_expired_and_the_cleanup_deletes_only_the_expired():
    scale.add_flows(30, expired=12)

    now = clock.now()
    assert Flow.objects.count() == 31  # the one made through the app, and its 30 copies
    assert Flow.objects.filter(expires_at__lte=now).count() == 12
    expired = Flow.objects.filter(expires_at__lte=now).first()
    assert expired.created_at < now - timedelta(hours=1)
    assert set(Flow.objects.values_list("state", flat=True)) == {"login_init"}
    assert Flow.objects.values("csrf_token_hash").distinct().count() == 31
    before = scale.sizes()["hankoflow_flow"]

    call_command("hankoflow_cleanup", "--only", "flows", stdout=io.StringIO())

    assert scale.sizes()["hankoflow_flow"]["rows"] == before["rows"] - 12 == 19
    assert set(scale.sizes()) == set(scale.TABLES)
    assert scale.describe("after", scale.sizes())[0].split()[1] == "hankoflow_flow"


def test_the_login_chains_never_log_in_the_users_whose_sessions_request_user_sends():
    """Their logins would add sessions until SESSION.LIMIT ended the oldest: the sent ones."""
    emails = [f"u{i}@example.com" for i in range(10)]
    sessions = [{"token": "t", "expected": "e"}] * 3
    seeded = run.Seeded("example.com", "pw", emails, sessions)
    logged_in = {seeded.login_user(index) for index in range(100)}
    assert logged_in == set(emails[3:])
