"""CPU time of whole process trees, read from /proc (Linux), for bench/stack.py's CpuMeter.

`tree_cpu(pid)` is every live process's own time (utime+stime) plus the
time of the children it has reaped (cutime+cstime): a PostgreSQL backend
reaped by the postmaster, a pool child replaced by its parent, a short
subprocess. A process that starts and ends between two samples is thus still
counted, in its parent. One scan of /proc per sample serves every tree.
"""

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def proc_table() -> dict[int, tuple[int, float]]:
    """{pid: (parent pid, CPU seconds: own + reaped children's)} of every process now."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended while we looked
            continue
        # "pid (comm) state ppid ... utime stime cutime cstime ...": comm may hold spaces.
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks = sum(int(value) for value in fields[11:15])
        table[int(entry.name)] = (int(fields[1]), ticks / TICK)
    return table


def tree_cpu(pid: int, table: dict[int, tuple[int, float]] | None = None) -> float:
    """CPU seconds of `pid` and all its descendants, live or reaped (0.0 if it is gone)."""
    table = proc_table() if table is None else table
    if pid not in table:
        return 0.0
    children: dict[int, list[int]] = {}
    for child, (parent, _) in table.items():
        children.setdefault(parent, []).append(child)
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        total += table[current][1]
        stack.extend(children.get(current, ()))
    return total


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy: /proc/stat's cpu line but idle and iowait."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is already in user)
    return (sum(values[:8]) - values[3] - values[4]) / TICK
