"""The audit chain: tampering with the database is found, and named, by `central audit verify`."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from central.audit.models import AuditEntry
from central.audit.service import AuditLog
from tests.support.central import ROOT, Server, run_sql
from tests.support.dmp import JEANNE, PHARMACIST, create, open_record


def _verify_cli(server: Server) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "central",
            "audit",
            "verify",
            "--db",
            server.state.settings.database_url,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={**os.environ, "CENTRAL_HOME": str(server.state.settings.home)},
    )


@pytest.fixture
def history(server: Server, tokens: dict[str, str]) -> int:
    """A few dozen entries from real requests."""
    create(server, tokens["agent"], authorised_professionals=[PHARMACIST])
    for _ in range(5):
        assert open_record(server, tokens["pharmacist"], JEANNE)[0] == 200
        assert open_record(server, tokens["agent"], JEANNE)[0] == 403
    server.state.sealer.run_once()
    with server.state.sessions() as db:
        count = db.scalar(select(func.count()).select_from(AuditEntry))
        assert db.scalar(select(func.max(AuditEntry.seq))) == count  # every entry sealed
    assert count is not None and count >= 15
    return count


def test_intact_chain_verifies(server: Server, history: int) -> None:
    result = _verify_cli(server)
    assert result.returncode == 0, result.stderr
    assert f"OK : {history} entrées" in result.stdout


def test_a_changed_entry_is_named(server: Server, history: int) -> None:
    run_sql(
        server.state.engine,
        "UPDATE audit_entries SET outcome = CASE WHEN outcome = 'allowed' THEN 'refused'"
        " ELSE 'allowed' END WHERE seq = 7",
    )
    result = _verify_cli(server)
    assert result.returncode == 1
    assert "entrée 7 modifiée ou déplacée" in result.stderr


def test_a_deleted_entry_is_named(server: Server, history: int) -> None:
    run_sql(server.state.engine, "DELETE FROM audit_entries WHERE seq = 9")
    result = _verify_cli(server)
    assert result.returncode == 1
    assert "entrée 9 supprimée" in result.stderr


def test_reordered_entries_are_named(server: Server, history: int) -> None:
    # Swap entries 4 and 5 (their sequence numbers), as someone hiding an order of events would.
    engine = server.state.engine
    run_sql(engine, "UPDATE audit_entries SET seq = -4 WHERE seq = 4")
    run_sql(engine, "UPDATE audit_entries SET seq = 4 WHERE seq = 5")
    run_sql(engine, "UPDATE audit_entries SET seq = 5 WHERE seq = -4")
    result = _verify_cli(server)
    assert result.returncode == 1
    assert "entrée 4 " in result.stderr


def test_truncated_tail_is_found(server: Server, history: int) -> None:
    run_sql(server.state.engine, "DELETE FROM audit_entries WHERE seq > :n", n=history - 2)
    result = _verify_cli(server)
    assert result.returncode == 1
    assert f"entrée {history - 1} et suivantes supprimées" in result.stderr


def test_concurrent_appends_keep_one_chain(server: Server, tokens: dict[str, str]) -> None:
    import concurrent.futures

    create(server, tokens["agent"], authorised_professionals=[PHARMACIST])
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        codes = list(
            pool.map(lambda _: open_record(server, tokens["pharmacist"], JEANNE)[0], range(48))
        )
    assert codes == [200] * 48
    server.state.sealer.run_once()
    with server.state.sessions() as db:
        result = AuditLog.verify(db)
        total = db.scalar(select(func.count()).select_from(AuditEntry))
    assert result.ok, result
    assert (result.entries, result.pending) == (total, 0)


def test_unsealed_entries_are_reported_pending(server: Server, tokens: dict[str, str]) -> None:
    server.state.sealer.stop()  # no background sealing from here on
    create(server, tokens["agent"])
    with server.state.sessions() as db:
        result = AuditLog.verify(db)
    assert result.ok and result.pending >= 1
    assert "en attente de scellement" in _verify_cli(server).stdout
