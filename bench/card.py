"""Card benchmark: APDU round trip through pcscd + vpcd, and a full Vitale 2 read.

Prints one JSON line. Baselines from the same run: the same APDU with the card's socket left
untuned (Nagle + delayed ACKs), and a bare loopback TCP round trip. Needs pcscd running
(`make system`). Run: `.venv/bin/python bench/card.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/queue.py bears the name of the standard library's `queue`: keep this folder off the
# import path, or urllib3 and psycopg would import the benchmark.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import json
import os
import platform
import socket
import statistics
import subprocess
import threading
import time

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kiosk.cardreader.apdu import ApduProtocol  # noqa: E402
from kiosk.cardreader.pcsc import PyscardBackend  # noqa: E402
from kiosk.cardreader.profiles.vitale2 import Vitale2Session  # noqa: E402
from kiosk.cardreader.service import CardEvent, CardEventKind, CardService  # noqa: E402

CARD = ROOT / "fixtures" / "cards" / "vitale-parent-deux-enfants.json"
READER = "Virtual PCD 00 00"
SELECT_MF = bytes.fromhex("00A40000023F00")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _serve(*extra: str) -> subprocess.Popen[bytes]:
    # The card runs in its own process, as a real card would: no GIL shared with the reader.
    process = subprocess.Popen(
        [sys.executable, "-m", "drivers", "serve", str(CARD), "--slot", "0", *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    process.stdout.readline()  # "inserted: ..."
    return process


def _wait_present(backend: PyscardBackend, present: bool) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        state = backend.snapshot().get(READER)
        if state is not None and state.present is present:
            return
        time.sleep(0.01)
    raise RuntimeError("the virtual card did not show up")


def _apdu_times(backend: PyscardBackend, count: int) -> list[float]:
    connection, _atr = backend.connect(READER)
    try:
        for _ in range(20):
            connection.send_and_receive(SELECT_MF)
        times = []
        for _ in range(count):
            start = time.perf_counter()
            connection.send_and_receive(SELECT_MF)
            times.append((time.perf_counter() - start) * 1000)
        return times
    finally:
        connection.close()


def _vitale_reads(backend: PyscardBackend, count: int) -> tuple[list[float], int]:
    connection, atr = backend.connect(READER)
    try:
        times, apdus = [], 0
        for _ in range(count):
            protocol = ApduProtocol(connection)
            start = time.perf_counter()
            card = Vitale2Session(protocol, atr).read()
            times.append((time.perf_counter() - start) * 1000)
            apdus = protocol.apdu_count
            assert len(card.holders) == 3
        return times, apdus
    finally:
        connection.close()


def _loopback_rtt(count: int) -> list[float]:
    server = socket.create_server(("127.0.0.1", 0))

    def echo() -> None:
        conn, _ = server.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while data := conn.recv(512):
            conn.sendall(data)
        conn.close()

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    client = socket.create_connection(server.getsockname())
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    times = []
    for _ in range(count):
        start = time.perf_counter()
        client.sendall(SELECT_MF)
        client.recv(512)
        times.append((time.perf_counter() - start) * 1000)
    client.close()
    server.close()
    return times


def _insertion_latency(repeats: int) -> list[float]:
    """Time from the card's connection to vpcd to the monitor's CARD_INSERTED event."""
    latencies = []
    for _ in range(repeats):
        seen = threading.Event()

        def listener(event: CardEvent, seen: threading.Event = seen) -> None:
            if event.kind is CardEventKind.CARD_INSERTED:
                seen.set()

        service = CardService(PyscardBackend, listener)
        with service:
            service.ready.wait(5)
            start = time.perf_counter()
            card = _serve()
            seen.wait(5)
            latencies.append((time.perf_counter() - start) * 1000)
            card.terminate()
            card.wait()
        time.sleep(0.5)
    return latencies


def main() -> None:
    backend = PyscardBackend()
    try:
        card = _serve()
        try:
            _wait_present(backend, True)
            apdu = _apdu_times(backend, 2000)
            reads, read_apdus = _vitale_reads(backend, 200)
        finally:
            card.terminate()
            card.wait()
        _wait_present(backend, False)
        card = _serve("--no-tune")
        try:
            _wait_present(backend, True)
            untuned = _apdu_times(backend, 40)
        finally:
            card.terminate()
            card.wait()
        _wait_present(backend, False)
    finally:
        backend.close()
    loopback = _loopback_rtt(2000)
    insertion = _insertion_latency(5)
    apdu_median = statistics.median(apdu)
    result = {
        "bench": "card",
        "apdu_median_ms": round(apdu_median, 4),
        "apdu_p95_ms": round(_percentile(apdu, 0.95), 4),
        "vitale_read_ms": round(statistics.median(reads), 3),
        "vitale_read_p95_ms": round(_percentile(reads, 0.95), 3),
        "vitale_read_apdus": read_apdus,
        "untuned_apdu_median_ms": round(statistics.median(untuned), 3),
        "speedup_vs_untuned": round(statistics.median(untuned) / apdu_median, 1),
        "loopback_rtt_median_ms": round(statistics.median(loopback), 4),
        "apdu_over_loopback": round(apdu_median / statistics.median(loopback), 1),
        "insert_to_event_median_ms": round(statistics.median(insertion), 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
