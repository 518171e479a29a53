"""Where the box's CPU goes during one load, read from /proc (Linux; psutil is not a dependency).

``bin/bench`` samples before and after each load and divides by the units it completed, so a
reader sees what one unit (a request, a login chain) costs the server and what it costs the
harness. Process groups:

* workers: the gunicorn master serving the scenario and its children (its workers);
* PostgreSQL: the processes named ``postgres`` (the postmaster, its backends, its helpers);
* Redis: the processes named ``redis-server``;
* load generator: the bench's own process (all its threads);
* other: the rest of the box's busy time (other processes, interrupts, the kernel).

A process's CPU time here is its utime + stime plus cutime + cstime, the time of the children it
has reaped: a backend or worker that exits during the load is then still counted, through its
parent, since a group's time is the sum over its processes after minus the sum before (``usage``
says what happens when the parent is gone too). The box's busy time is the first line of
/proc/stat less idle and iowait. /proc counts in clock ticks (usually 10 ms), so short runs are
rough.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
GROUPS = ("workers", "postgresql", "redis", "loadgen")
POSTGRES_NAMES = frozenset({"postgres", "postmaster"})
REDIS_NAMES = frozenset({"redis-server"})


@dataclass(frozen=True)
class Process:
    pid: int
    ppid: int
    name: str  # the kernel's comm: postgres backends keep "postgres" whatever their title
    seconds: float  # utime + stime + cutime + cstime
    start: int = 0  # ticks after boot: a pid used again is another process


@dataclass(frozen=True)
class Sample:
    processes: dict[int, Process]
    busy: float  # the box's busy seconds since boot (all CPUs)


@dataclass(frozen=True)
class Usage:
    """CPU seconds each group used between two samples, and the box's busy seconds."""

    groups: dict[str, float] = field(default_factory=dict)
    busy: float = 0.0

    @property
    def other(self) -> float:
        return self.busy - sum(self.groups.values())

    @property
    def server(self) -> float:
        """What the server side costs: its workers, PostgreSQL and Redis."""
        return sum(self.groups.get(name, 0.0) for name in ("workers", "postgresql", "redis"))

    def per_unit_ms(self, units: int) -> dict[str, float]:
        """Milliseconds per unit by group, with ``other`` and ``busy``."""
        n = max(units, 1)
        values = {name: self.groups.get(name, 0.0) for name in GROUPS}
        values.update(other=self.other, busy=self.busy)
        return {name: 1000 * seconds / n for name, seconds in values.items()}

    def describe(self, units: int) -> str:
        """``"workers 8.77, PostgreSQL 2.26, Redis 0.08, load gen 1.51, other 2.90, busy 15.52"``
        (milliseconds per unit), for a log line."""
        ms = self.per_unit_ms(units)
        return ", ".join(f"{LABELS[name]} {ms[name]:.2f}" for name in LABELS)


LABELS = {
    "workers": "workers",
    "postgresql": "PostgreSQL",
    "redis": "Redis",
    "loadgen": "load gen",
    "other": "other",
    "busy": "busy",
}


def parse_stat(text: str) -> Process:
    """``/proc/<pid>/stat``: "pid (comm) state ppid ..." where comm may hold spaces and
    parentheses, so the fields are split after its last ")"."""
    pid, _, rest = text.partition(" (")
    name, _, tail = rest.rpartition(") ")
    fields = tail.split()
    # After comm: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14) ...
    # starttime(19), in ticks.
    ticks = sum(int(value) for value in fields[11:15])
    return Process(int(pid), int(fields[1]), name, ticks / TICK, int(fields[19]))


def processes(proc: Path = PROC) -> dict[int, Process]:
    """Every process readable in ``proc`` (ones that exit while it reads are skipped)."""
    found = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            process = parse_stat((entry / "stat").read_text())
        except (OSError, ValueError, IndexError):
            continue
        found[process.pid] = process
    return found


def box_busy(proc: Path = PROC) -> float:
    """The busy seconds of all CPUs since boot: /proc/stat's ``cpu`` line less idle and iowait."""
    with (proc / "stat").open() as stat:
        values = [int(value) for value in stat.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
    return (sum(values[:8]) - values[3] - values[4]) / TICK


def sample(proc: Path = PROC) -> Sample:
    """The processes and the box's busy time now; raises OSError when /proc cannot be read."""
    return Sample(processes(proc), box_busy(proc))


def group_of(process: Process, master: int | None, me: int) -> str | None:
    if process.pid == me:
        return "loadgen"
    if master is not None and master in (process.pid, process.ppid):
        return "workers"
    if process.name in POSTGRES_NAMES:
        return "postgresql"
    if process.name in REDIS_NAMES:
        return "redis"
    return None


def usage(before: Sample, after: Sample, master: int | None, me: int | None = None) -> Usage:
    """The CPU each group used from ``before`` to ``after``; ``master``: the gunicorn master
    serving the load (None: no workers group), ``me``: the load generator (default: this
    process). A group's time is the sum over its processes after less the sum before; a process
    that exited in between counts in the sum before only when its parent is still there, in the
    same group, with the exited one's time in its cutime (else its time left the group with
    it, e.g. another PostgreSQL cluster stopping, and neither sum has it)."""
    me = os.getpid() if me is None else me
    groups = dict.fromkeys(GROUPS, 0.0)
    for process in after.processes.values():
        group = group_of(process, master, me)
        if group is not None:
            groups[group] += process.seconds
    for process in before.processes.values():
        group = group_of(process, master, me)
        if group is None:
            continue
        now = after.processes.get(process.pid)
        if now is None or now.start != process.start:  # it exited
            parent = after.processes.get(process.ppid)
            if parent is None or group_of(parent, master, me) != group:
                continue
        groups[group] -= process.seconds
    # An exited process's time read live and then as its parent's cutime may differ by a tick.
    return Usage(
        {name: max(0.0, seconds) for name, seconds in groups.items()}, after.busy - before.busy
    )


def readable(proc: Path = PROC) -> str | None:
    """None when the CPU can be measured here, else why not."""
    try:
        sample(proc)
    except (OSError, ValueError, IndexError) as exc:
        return f"{proc} cannot be read ({exc.__class__.__name__}: {exc})"
    return None
