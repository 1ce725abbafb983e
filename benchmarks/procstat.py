"""What the benchmarks read from Linux /proc: a process tree and its CPU seconds."""

from __future__ import annotations

import os
from pathlib import Path


def process_tree(pid: int) -> list[int]:
    """`pid` and all its live descendants (processes that exit meanwhile are skipped)."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            children = [int(x) for task in Path(f"/proc/{current}/task").iterdir()
                        for x in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
        pids.append(current)
        todo += children
    return pids


def cpu_seconds(pid: int) -> float:
    """CPU seconds a process used so far, all its threads included."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by a process and its live descendants (server workers)."""
    total = 0.0
    for member in process_tree(pid):
        try:
            total += cpu_seconds(member)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total
