"""bin/bench's CPU per unit by process group (bench/cpu.py) on a fake /proc tree, and the table
bench.run prints from it. No server, no timing."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest

from bench import cpu, run

TICK = cpu.TICK


def write_stat(
    proc: Path,
    pid: int,
    name: str,
    ppid: int,
    ticks: tuple[int, int, int, int],
    start: int = 12345,
):
    """A /proc/<pid>/stat line: utime, stime, cutime, cstime at fields 14-17, starttime at 22."""
    (proc / str(pid)).mkdir(parents=True, exist_ok=True)
    fields = ["S", str(ppid), *["0"] * 9, *map(str, ticks), "20", "0", "1", "0", str(start)]
    (proc / str(pid) / "stat").write_text(f"{pid} ({name}) {' '.join(fields)}\n")


def write_box(proc: Path, user: int, system: int, idle: int, iowait: int, softirq: int = 0):
    # cpu: user nice system idle iowait irq softirq steal guest guest_nice
    line = f"cpu  {user} 0 {system} {idle} {iowait} 0 {softirq} 0 0 0"
    (proc / "stat").write_text(f"{line}\ncpu0 {user} 0 {system} {idle} {iowait} 0 0 0 0 0\n")


def test_stat_fields_are_read_after_the_last_parenthesis_of_the_name():
    line = "42 (a (b) c) R 7 42 42 0 -1 4194560 1 0 0 0 11 22 33 44 20 0 1 0 99 1 1\n"

    process = cpu.parse_stat(line)

    assert (process.pid, process.ppid, process.name, process.start) == (42, 7, "a (b) c", 99)
    assert process.seconds == pytest.approx((11 + 22 + 33 + 44) / TICK)


def test_usage_sums_each_group_and_leaves_the_rest_of_the_busy_time_to_other(tmp_path):
    me, master = 500, 100
    write_box(tmp_path, user=1000, system=500, idle=9000, iowait=100)
    write_stat(tmp_path, me, "python3", 1, (10, 5, 300, 0))  # cutime: earlier subprocesses
    write_stat(tmp_path, master, "python3", 1, (3, 1, 0, 0))
    write_stat(tmp_path, 101, "python3", master, (50, 10, 0, 0))
    write_stat(tmp_path, 102, "python3", master, (40, 10, 0, 0))
    write_stat(tmp_path, 200, "postgres", 1, (5, 5, 80, 20))
    write_stat(tmp_path, 201, "postgres", 200, (30, 10, 0, 0))  # a backend that will exit
    write_stat(tmp_path, 300, "redis-server", 1, (7, 3, 0, 0))
    write_stat(tmp_path, 400, "python3", 1, (500, 100, 0, 0))  # another server: other
    before = cpu.sample(tmp_path)

    write_box(tmp_path, user=1150, system=560, idle=9100, iowait=110, softirq=10)
    write_stat(tmp_path, me, "python3", 1, (30, 10, 300, 0))  # +25
    write_stat(tmp_path, master, "python3", 1, (3, 2, 0, 0))  # +1
    write_stat(tmp_path, 101, "python3", master, (80, 15, 0, 0))  # +35
    write_stat(tmp_path, 102, "python3", master, (60, 20, 0, 0))  # +30
    # backend 201 exited at 50 + 10 ticks and was reaped by the postmaster (cutime +60);
    # backend 202 started and runs on: all of its time is in the interval.
    (tmp_path / "201" / "stat").unlink()
    (tmp_path / "201").rmdir()
    write_stat(tmp_path, 200, "postgres", 1, (6, 5, 140, 20))  # +1 +60
    write_stat(tmp_path, 202, "postgres", 200, (8, 2, 0, 0))  # +10
    write_stat(tmp_path, 300, "redis-server", 1, (9, 3, 0, 0))  # +2
    write_stat(tmp_path, 400, "python3", 1, (510, 100, 0, 0))
    after = cpu.sample(tmp_path)

    used = cpu.usage(before, after, master, me=me)

    assert used.groups == pytest.approx(
        {
            "workers": 66 / TICK,
            "postgresql": (1 + 60 - 40 + 10) / TICK,  # 201's 40 ticks before are not counted
            "redis": 2 / TICK,
            "loadgen": 25 / TICK,
        }
    )
    assert used.busy == pytest.approx((150 + 60 + 10) / TICK)  # idle and iowait left out
    assert used.other == pytest.approx((220 - 66 - 31 - 2 - 25) / TICK)
    assert used.server == pytest.approx((66 + 31 + 2) / TICK)
    per_unit = used.per_unit_ms(10)
    assert per_unit["workers"] == pytest.approx(1000 * 66 / TICK / 10)
    assert per_unit["busy"] == pytest.approx(1000 * 220 / TICK / 10)
    assert set(per_unit) == {"workers", "postgresql", "redis", "loadgen", "other", "busy"}


def test_a_process_tree_that_exits_with_its_own_parent_leaves_no_negative_time(tmp_path):
    """Another PostgreSQL cluster (a fault test's) stopping during the load: its postmaster and
    backends are gone, reaped outside the group, so their time is in neither sample's sum."""
    write_box(tmp_path, 0, 0, 0, 0)
    write_stat(tmp_path, 200, "postgres", 1, (5, 5, 0, 0))
    write_stat(tmp_path, 900, "pytest", 1, (100, 0, 0, 0))
    write_stat(tmp_path, 600, "postgres", 900, (50, 10, 400, 40))  # the other postmaster
    write_stat(tmp_path, 601, "postgres", 600, (70, 0, 0, 0))
    before = cpu.sample(tmp_path)
    for pid in (600, 601):
        (tmp_path / str(pid) / "stat").unlink()
    write_stat(tmp_path, 900, "pytest", 1, (100, 0, 570, 0))
    write_stat(tmp_path, 200, "postgres", 1, (8, 5, 0, 0))

    used = cpu.usage(before, cpu.sample(tmp_path), None, me=1)

    assert used.groups["postgresql"] == pytest.approx(3 / TICK)


def test_a_reused_pid_is_another_process(tmp_path):
    write_box(tmp_path, 0, 0, 0, 0)
    write_stat(tmp_path, 200, "postgres", 1, (5, 5, 0, 0))
    write_stat(tmp_path, 201, "postgres", 200, (90, 0, 0, 0), start=1000)
    before = cpu.sample(tmp_path)
    write_stat(tmp_path, 200, "postgres", 1, (5, 5, 95, 0))  # 201 ended at 95 and was reaped
    write_stat(tmp_path, 201, "postgres", 200, (4, 0, 0, 0), start=2000)  # a new backend

    used = cpu.usage(before, cpu.sample(tmp_path), None, me=1)

    assert used.groups["postgresql"] == pytest.approx((95 - 90 + 4) / TICK)


def test_a_runs_usage_is_described_in_ms_per_unit_for_its_log_line():
    used = cpu.Usage({"workers": 0.5, "postgresql": 0.2, "redis": 0.0, "loadgen": 0.1}, 1.0)

    assert used.describe(100) == (
        "workers 5.00, PostgreSQL 2.00, Redis 0.00, load gen 1.00, other 2.00, busy 10.00"
    )


def test_without_a_master_the_server_workers_are_not_a_group(tmp_path):
    write_box(tmp_path, 0, 0, 0, 0)
    write_stat(tmp_path, 101, "python3", 100, (5, 0, 0, 0))
    before = cpu.sample(tmp_path)
    write_stat(tmp_path, 101, "python3", 100, (9, 0, 0, 0))

    assert cpu.usage(before, cpu.sample(tmp_path), None, me=1).groups["workers"] == 0


def test_this_process_is_the_load_generator_by_default():
    now = cpu.sample()
    assert os.getpid() in now.processes
    assert cpu.group_of(now.processes[os.getpid()], None, os.getpid()) == "loadgen"
    assert cpu.readable() is None


def test_an_unreadable_proc_is_reported_not_raised(tmp_path):
    reason = cpu.readable(tmp_path / "missing")
    assert reason is not None and "cannot be read" in reason


def _result(name: str, ok: int, groups: dict[str, float], busy: float, requests: int = 0):
    result = run.LoadResult(name, ok, 0, 1.0, [0.01], Counter(), requests=requests or ok)
    result.cpu = cpu.Usage(groups, busy)
    return result


def test_cpu_table_gives_ms_per_unit_and_the_server_cpu_next_to_each_peer_target():
    peer = run.Peer(2, run.Seeded("", "", [], []), Path("."))
    bench = run.Bench(1, 1.0, 1, run.Seeded("example.com", "pw", [], []), Path("."), peer)
    server = {"workers": 0.8, "postgresql": 0.3, "redis": 0.02, "loadgen": 0.12}
    one = {"workers": 0.6, "postgresql": 0.1, "redis": 0.0, "loadgen": 0.05}
    bench.results = {key: [_result(key, 100, one, 1.0)] for key in "ABCDGSRFQ"}
    bench.results["E"] = [_result("E", 100, server, 1.5, requests=500)]
    bench.results["P"] = [_result("P", 200, one, 1.0)]

    lines = bench.cpu_table()

    assert lines[0].split()[4:] == [
        "workers",
        "PostgreSQL",
        "Redis",
        "load",
        "gen",
        "other",
        "box",
        "busy",
        "ms/req",
    ]
    row = next(line for line in lines if line.startswith("E "))
    # 0.8 s over 100 chains = 8.00 ms; other = 1.5 - 1.24 s; load gen 0.12 s / 500 requests
    assert row.split()[-7:] == ["8.00", "3.00", "0.20", "1.20", "2.60", "15.00", "0.240"]
    compared = next(line for line in lines if line.startswith("  E/P"))
    # E: 11.20 ms of server CPU per chain, P: 0.70 s / 200 = 3.50 ms: 0.31 as a rate ratio
    assert "E 11.20 ms, P 3.50 ms = 0.31 as a rate ratio; throughput E/P 0.50" in compared
    assert sum(line.startswith("  ") for line in lines) == 3  # G/R, E/P, F/Q


def test_cpu_table_is_empty_when_nothing_was_measured():
    bench = run.Bench(1, 1.0, 1, run.Seeded("example.com", "pw", [], []), Path("."))
    bench.results = {key: [run.LoadResult(key, 1, 0, 1.0, [0.01])] for key in "ABCDEFG"}
    assert bench.cpu_table() == []


def test_bench_load_measures_the_cpu_around_the_load_with_the_ports_master(monkeypatch):
    samples = iter(["before", "after"])
    seen = {}
    monkeypatch.setattr(cpu, "sample", lambda: next(samples))

    def usage(before, after, master):
        seen.update(before=before, after=after, master=master)
        return cpu.Usage({"workers": 1.0}, 2.0)

    monkeypatch.setattr(cpu, "usage", usage)
    monkeypatch.setattr(
        run, "run_load", lambda *args: run.LoadResult("x", 10, 0, 1.0, [0.01], Counter())
    )
    bench = run.Bench(1, 1.0, 1, run.Seeded("", "", [], []), Path("."), masters={7: 70})

    result = bench.load(run.hello_load(10), port=7)

    assert seen == {"before": "before", "after": "after", "master": 70}
    assert result.cpu is not None and result.cpu.busy == 2.0


def test_a_tick_lost_between_a_live_reading_and_the_parents_cutime_is_not_negative(tmp_path):
    write_box(tmp_path, 0, 0, 0, 0)
    write_stat(tmp_path, 200, "postgres", 1, (5, 5, 0, 0))
    write_stat(tmp_path, 201, "postgres", 200, (50, 0, 0, 0))
    before = cpu.sample(tmp_path)
    (tmp_path / "201" / "stat").unlink()
    write_stat(tmp_path, 200, "postgres", 1, (5, 5, 49, 0))

    assert cpu.usage(before, cpu.sample(tmp_path), None, me=1).groups["postgresql"] == 0.0
