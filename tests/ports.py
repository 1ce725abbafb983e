"""Loopback ports for test peers and servers that must know their port before they start.

Everything that can bind port 0 and say what it got does so (the in-process App, aiosmtpd,
`kopilka serve`'s metrics port, printed at start-up): a port probed and released first can be
taken by someone else before its server binds it. What is left needs the port up front:
`kopilka serve --workers N` (the workers share one port), a peer a test starts only after
the server has been told where it is (an SMSC outage), and smpp34's server, which does not
report the port it bound.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path


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
