"""Which processes answer a TCP port, from the kernel's own tables (Linux /proc).

A test of `kopilka serve --workers N` asks this rather than the server, so one process
cannot pass for two: the kernel says which process holds the server end of each of the
test's connections.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

ESTABLISHED, LISTEN = "01", "0A"


def _connections(state: str = ESTABLISHED) -> list[tuple[int, int, int]]:
    """(local port, remote port, socket inode) of every TCP socket in `state`."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(table)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == state:
                local, remote = (int(f.rsplit(":", 1)[1], 16) for f in fields[1:3])
                found.append((local, remote, int(fields[9])))
    return found


def socket_inodes(pid: int) -> set[int]:
    """Inodes of the sockets process `pid` has open (empty if it is gone)."""
    inodes = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except (FileNotFoundError, PermissionError):
        return inodes
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def children(pid: int) -> set[int]:
    """Processes whose parent is `pid`."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        ppid = int(text.rsplit(")", 1)[1].split()[1])  # after "pid (comm) state"
        if ppid == pid:
            found.add(int(stat.parent.name))
    return found


def serving_processes(port: int, candidates: Iterable[int]) -> set[int]:
    """The candidates holding the server end of this process's connections to `port`."""
    connections = _connections()
    mine = socket_inodes(os.getpid())
    client_ports = {local for local, remote, inode in connections
                    if remote == port and inode in mine}
    server_ends = {inode for local, remote, inode in connections
                   if local == port and remote in client_ports}
    return {pid for pid in candidates if socket_inodes(pid) & server_ends}


def listening_processes(port: int, candidates: Iterable[int]) -> set[int]:
    """The candidates with a socket listening on `port` (each worker has its own)."""
    listening = {inode for local, _remote, inode in _connections(LISTEN) if local == port}
    return {pid for pid in candidates if socket_inodes(pid) & listening}
