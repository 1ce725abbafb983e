"""Loopback ports for test peers and servers."""

from __future__ import annotations

import random
import socket
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def idle_port() -> int:
    """A free port below the kernel's ephemeral range, for a peer that starts later.

    While nothing listens on a port, a client retrying to connect there can draw that very
    port as its own ephemeral one and connect to itself (TCP simultaneous open), holding
    it: the peer then cannot bind. Outside the ephemeral range that cannot happen.
    """
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for port in random.sample(range(max(1024, low - 10_000), low), 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")
