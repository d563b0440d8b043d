"""Exactly once in effect through a faulty network and a central restart (SQLite and PostgreSQL).

The kiosk's real sync client drains its real queue to the real central service over loopback
HTTP, through a fault-injecting proxy (tests/faulty_proxy.py) or across a SIGKILL of the service.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from central.audit.models import AuditEntry
from central.config import Settings
from central.db import make_engine, make_sessionmaker
from central.sync.models import Receipt
from dmpcommon.actions import CardReadRefused, RefusedCard
from kiosk.sync.client import Backoff, SyncClient
from kiosk.sync.queue import ActionQueue
from kiosk.sync.transport import CentralClient, RequestSigner
from tests.support.central import Professional, Server
from tests.support.ports import free_port
from tests.support.proxy import FAULTS, FaultyProxy
from tests.support.queues import enrolled_queue, queue_login

ROOT = Path(__file__).resolve().parents[2]


def _fill(queue: ActionQueue, pharmacist: Professional, count: int) -> list[dt.datetime]:
    """An operator session, then count - 1 traced card refusals; their kiosk times, each
    distinct, which the service records as the audit entries' times."""
    queue_login(queue, pharmacist, "session-sync")
    kinds = list(RefusedCard)
    for i in range(1, count):
        queue.enqueue(CardReadRefused(reason=kinds[i % len(kinds)]), session_id="session-sync")
    rows = queue.pending(limit=count)[1:]
    return [dt.datetime.fromisoformat(row.created_at) for row in rows]


def _drain(client: SyncClient, queue: ActionQueue, *, timeout_s: float) -> None:
    """Run the sync loop in its thread until the queue is empty."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            client.run(stop, idle_s=0.05, backoff=Backoff(base_s=0.02, cap_s=0.5), seed=7)
        except BaseException as exc:  # noqa: BLE001 - reported to the test below
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while queue.status().pending and time.monotonic() < deadline and not errors:
        time.sleep(0.1)
    stop.set()
    client.wake()
    thread.join(10)
    assert not errors, errors
    assert queue.status().pending == 0, queue.status()


def _assert_applied_once_in_order(url: str, queue: ActionQueue, times: list[dt.datetime]) -> None:
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as db:
            receipts = db.execute(
                select(Receipt.seq, Receipt.action_id, Receipt.outcome)
                .where(Receipt.kiosk_id == queue.kiosk_id)
                .order_by(Receipt.id)
            ).all()
            traced = db.scalars(
                select(AuditEntry.at)
                .where(AuditEntry.action == "card_read_refused")
                .order_by(AuditEntry.id)
            ).all()
    finally:
        engine.dispose()
    count = len(times) + 1
    assert [r.seq for r in receipts] == list(range(1, count + 1))  # all, in order, once
    assert len({r.action_id for r in receipts}) == count
    assert {r.outcome for r in receipts} == {"accepted"}
    assert traced == times  # each effect applied exactly once, in the kiosk's order
    status = queue.status()
    assert (status.acknowledged, status.rejected) == (count, [])


@pytest.mark.timeout(400)
def test_5000_actions_through_a_network_that_fails_30_percent_of_requests(
    server: Server, settings: Settings, tmp_path: Path, pharmacist: Professional
) -> None:
    queue = enrolled_queue(server, tmp_path)
    times = _fill(queue, pharmacist, 5000)
    host, port = server.url.removeprefix("http://").split(":")
    proxy = FaultyProxy((host, int(port)), fault_rate=0.3, late_s=1.5).start()
    try:
        signer = RequestSigner(queue.kiosk_id, queue.signing_key)
        transport = CentralClient(proxy.url, timeout_s=1.0, signer=signer)
        _drain(SyncClient(queue, transport, queue.kiosk_id, batch_size=40), queue, timeout_s=300)
    finally:
        proxy.stop()  # also lets the late requests land before the ledger is read
    total = sum(proxy.counts.values())
    faults = sum(proxy.counts[f] for f in FAULTS)
    assert total >= 150 and 0.2 <= faults / total <= 0.4, proxy.counts
    assert all(proxy.counts[f] >= 5 for f in FAULTS), proxy.counts
    _assert_applied_once_in_order(settings.database_url, queue, times)


@dataclass
class Served:
    """`central serve` processes on one port: the last one is running."""

    url: str
    processes: list[subprocess.Popen[bytes]]
    start: Callable[[], None]


@pytest.fixture
def serve(settings: Settings) -> Iterator[Served]:
    """`central serve` as a separate process on a fixed port, restartable."""
    port = free_port()
    env = {**os.environ, "CENTRAL_HOME": str(settings.home)}
    processes: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        process = subprocess.Popen(  # noqa: S603 - our own command
            [
                sys.executable,
                "-m",
                "central",
                "serve",
                "--db",
                settings.database_url,
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=ROOT,
            env=env,
        )
        processes.append(process)
        for _ in range(300):
            try:
                if requests.get(f"http://127.0.0.1:{port}/v1/sync/key", timeout=1).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("central serve did not start")

    start()
    yield Served(f"http://127.0.0.1:{port}", processes, start)
    for process in processes:
        process.kill()
        process.wait(10)


def test_the_central_service_killed_and_restarted_during_a_sync(
    server: Server,
    settings: Settings,
    serve: Served,
    tmp_path: Path,
    pharmacist: Professional,
) -> None:
    url, processes = serve.url, serve.processes
    queue = enrolled_queue(server, tmp_path)  # enrolled through the in-process service
    server.stop()
    times = _fill(queue, pharmacist, 2000)
    signer = RequestSigner(queue.kiosk_id, queue.signing_key)
    client = SyncClient(
        queue, CentralClient(url, timeout_s=5, signer=signer), queue.kiosk_id, batch_size=20
    )

    def kill_mid_sync() -> None:
        while queue.status().acknowledged < 300:
            time.sleep(0.005)
        processes[-1].send_signal(signal.SIGKILL)
        processes[-1].wait(10)
        time.sleep(1.0)  # the kiosk meets a dead service for a while
        serve.start()

    killer = threading.Thread(target=kill_mid_sync, daemon=True)
    killer.start()
    _drain(client, queue, timeout_s=120)
    killer.join(30)
    assert len(processes) == 2 and processes[0].returncode == -signal.SIGKILL
    _assert_applied_once_in_order(settings.database_url, queue, times)


def test_the_next_try_is_immediate_when_the_network_comes_back(
    server: Server, serve: Served, tmp_path: Path, pharmacist: Professional
) -> None:
    queue = enrolled_queue(server, tmp_path)
    server.stop()
    _fill(queue, pharmacist, 20)
    serve.processes[-1].kill()
    serve.processes[-1].wait(10)
    signer = RequestSigner(queue.kiosk_id, queue.signing_key)
    client = SyncClient(queue, CentralClient(serve.url, timeout_s=2, signer=signer), queue.kiosk_id)
    stop = threading.Event()
    # Without the probe, the first retry would come 30 to 60 s after the failure.
    runner = threading.Thread(
        target=client.run,
        args=(stop,),
        kwargs={"backoff": Backoff(base_s=60, cap_s=300), "probe_s": 0.2, "seed": 1},
        daemon=True,
    )
    runner.start()
    try:
        time.sleep(1.0)
        assert queue.status().pending == 20  # tried, failed, backing off
        back = time.monotonic()
        serve.start()
        while queue.status().pending and time.monotonic() - back < 20:
            time.sleep(0.05)
        waited = time.monotonic() - back
    finally:
        stop.set()
        client.wake()
        runner.join(10)
    assert queue.status().pending == 0
    assert waited < 10, waited
