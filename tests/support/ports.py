"""Free loopback ports for the servers a test starts, safe with parallel test workers.

A port found free with bind(0) and bound again later may be taken in between by another
worker's bind(0). Under pytest-xdist each worker draws from its own band below the kernel's
ephemeral range (which bind(0) and outgoing connections use), so two workers never draw the
same port and no ephemeral port is ever drawn."""

from __future__ import annotations

import os
import random
import socket

__all__ = ["free_port"]

_BAND = 2000
_FIRST = 12000  # the ephemeral range starts at 32768: ten workers' bands fit below it


def _band() -> range | None:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return None
    start = _FIRST + int(worker[2:]) * _BAND
    return range(start, start + _BAND)


def free_port() -> int:
    band = _band()
    if band is None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    for port in random.sample(band, len(band)):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # held by this worker's earlier server, or in TIME_WAIT
            return port
    raise RuntimeError("no free port left in this worker's band")
