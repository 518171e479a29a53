"""Memory of a gunicorn server's workers, read from /proc (Linux; psutil is not a dependency).

RSS counts every page a worker maps, the ones it shares with the master and its siblings after
the fork included; PSS (from ``/proc/<pid>/smaps_rollup``, Linux 4.14+) divides each shared page
among the processes that map it, so the PSS of all workers adds up to what they really use.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


@dataclass(frozen=True)
class ProcessMemory:
    pid: int
    rss_kb: int
    pss_kb: int | None  # None where smaps_rollup cannot be read


def _kb(text: str, field: str) -> int | None:
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


def process_memory(pid: int, proc: Path = PROC) -> ProcessMemory | None:
    """RSS and PSS of ``pid``, or None when it is gone or cannot be read."""
    try:
        rss = _kb((proc / str(pid) / "status").read_text(), "VmRSS")
    except OSError:
        return None
    if rss is None:  # a zombie has no VmRSS line
        return None
    try:
        pss = _kb((proc / str(pid) / "smaps_rollup").read_text(), "Pss")
    except OSError:
        pss = None
    return ProcessMemory(pid, rss, pss)


def children(pid: int, proc: Path = PROC) -> list[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers, for its master)."""
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after it.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def workers(master: int, proc: Path = PROC) -> list[ProcessMemory]:
    """The memory of each worker of the gunicorn master ``master``."""
    measured = (process_memory(pid, proc) for pid in children(master, proc))
    return [memory for memory in measured if memory is not None]


def describe(memories: list[ProcessMemory]) -> str:
    """``"RSS 101, 99 MB; PSS 80, 78 MB"`` for the workers (MB = 1024 kB)."""
    if not memories:
        return "not measured (no worker found in /proc)"
    rss = ", ".join(f"{m.rss_kb / 1024:.0f}" for m in memories)
    text = f"RSS {rss} MB"
    if all(m.pss_kb is not None for m in memories):
        pss = ", ".join(f"{(m.pss_kb or 0) / 1024:.0f}" for m in memories)
        text += f"; PSS {pss} MB"
    return text
