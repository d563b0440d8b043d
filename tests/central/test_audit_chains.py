"""The split audit trail: one chain per partition, one chain of roots over their heads, and
`central audit verify` naming what was cut, moved or rewritten in any of them."""

from __future__ import annotations

import datetime as dt
import tracemalloc

import pytest
from alembic import command
from sqlalchemy import delete, func, insert, select, text, update

from central.audit.models import AuditChainHead, AuditEntry, AuditHead, AuditRoot
from central.audit.service import (
    LEGACY_CHAIN,
    AuditLog,
    AuditSealer,
    AuditTampered,
    ChainProblem,
    entry_hash,
    genesis,
)
from central.audit.trail import AuditAction, trace
from central.migrate import alembic_config
from central.partitioning import PARTITIONS
from tests.central.test_audit import (
    DOCTOR,
    _audit_cli,
    _cut,
    _head,
    _listed,
    _roots,
    _trace_more,
    _verify_cli,
)
from tests.support.central import Server, postgresql_only, run_sql

# Patients enough for every partition to hold some (PostgreSQL's hash spreads them).
PATIENTS = [f"2{n:014d}" for n in range(1, 41)]


def _spread(server: Server, *, per_patient: int = 3) -> dict[int, list[str]]:
    """Entries about many patients, sealed; returns each chain's patients."""
    with server.state.sessions() as db, db.begin():
        for i in range(per_patient):
            for ins in PATIENTS:
                trace(
                    db,
                    DOCTOR,
                    AuditAction.OPEN,
                    now=server.state.now(),
                    patient_ins=ins,
                    detail=str(i),
                )
    server.state.sealer.run_once()
    chains: dict[int, list[str]] = {}
    with server.state.sessions() as db:
        for chain, ins in db.execute(
            select(AuditEntry.chain, AuditEntry.patient_ins).distinct().order_by(AuditEntry.chain)
        ):
            chains.setdefault(chain, []).append(ins)
    return chains


def _length(server: Server, chain: int) -> int:
    with server.state.sessions() as db:
        return db.scalar(select(func.count()).where(AuditEntry.chain == chain)) or 0


def _two_chains(chains: dict[int, list[str]]) -> tuple[int, int]:
    """Two chains of the split, neither chain 0 (which also holds the entries of no patient)."""
    found = sorted(c for c in chains if c > 0)
    assert len(found) >= 2, chains
    return found[0], found[1]


@postgresql_only
def test_patients_in_different_partitions_land_in_different_chains(server: Server) -> None:
    chains = _spread(server)
    assert len(chains) == PARTITIONS  # 40 patients: every partition holds some
    with server.state.sessions() as db:
        rows = db.execute(
            select(
                AuditEntry.chain,
                AuditEntry.patient_ins,
                text("audit_entries.tableoid::regclass::text"),
            )
        ).all()
        for chain, _ins, table in rows:
            assert table == f"audit_entries_p{chain}"  # its chain is its partition
        for ins in PATIENTS:  # one patient, one chain
            assert len({c for c, i, _ in rows if i == ins}) == 1
        heads = {h.chain: (h.seq, h.hash) for h in db.scalars(select(AuditChainHead))}
        last = db.scalars(select(AuditRoot).order_by(AuditRoot.seq.desc()).limit(1)).one()
        assert _listed(last) == heads  # the root lists every chain's head
        result = AuditLog.verify(db, key=server.state.sealer.key)
    assert result.ok and (result.entries, result.chains) == (3 * len(PATIENTS), PARTITIONS), result
    cli = _verify_cli(server)
    assert cli.returncode == 0, cli.stderr
    assert f"OK : {3 * len(PATIENTS)} entrées, {PARTITIONS} chaînes et 1 racine intactes" in (
        cli.stdout
    )


def test_everything_is_chain_0_without_partitions(server: Server) -> None:
    chains = _spread(server, per_patient=1)
    if server.state.engine.dialect.name == "sqlite":
        assert list(chains) == [0]
    with server.state.sessions() as db:
        assert AuditLog.verify(db, key=server.state.sealer.key).ok


@postgresql_only
def test_an_edited_or_deleted_entry_is_named_with_its_chain(server: Server) -> None:
    chains = _spread(server)
    first, second = _two_chains(chains)
    run_sql(
        server.state.engine,
        "UPDATE audit_entries SET detail = 'autre' WHERE chain = :c AND seq = 2",
        c=second,
    )
    result = _verify_cli(server)
    assert result.returncode == 1
    assert f"audit : entrée 2 modifiée ou déplacée (chaîne {second}," in result.stderr
    run_sql(server.state.engine, "DELETE FROM audit_entries WHERE chain = :c AND seq = 3", c=first)
    result = _verify_cli(server)
    assert result.returncode == 1
    assert f"audit : entrée 3 supprimée (chaîne {first}," in result.stderr


@postgresql_only
def test_an_entry_moved_to_another_partition_is_caught(server: Server) -> None:
    chains = _spread(server)
    first, second = _two_chains(chains)
    # Give an entry another patient: PostgreSQL moves the row to that patient's partition.
    run_sql(
        server.state.engine,
        "UPDATE audit_entries SET patient_ins = :ins WHERE chain = :c AND seq = 4",
        ins=chains[second][0],
        c=first,
    )
    with server.state.sessions() as db:
        moved = db.execute(
            select(text("audit_entries.tableoid::regclass::text")).where(
                AuditEntry.chain == first, AuditEntry.seq == 4
            )
        ).scalar_one()
    assert moved == f"audit_entries_p{second}"  # the attack did what it meant to
    result = _verify_cli(server)
    assert result.returncode == 1
    assert f"audit : entrée 4 modifiée ou déplacée (chaîne {first}," in result.stderr


@postgresql_only
def test_an_entry_moved_between_chains_is_caught(server: Server) -> None:
    """Taken out of one chain and appended to another, linked to its head: the hash covers
    the chain it was sealed in."""
    chains = _spread(server)
    first, second = _two_chains(chains)
    length = _length(server, second)
    with server.state.sessions() as db, db.begin():
        tail = db.get(AuditChainHead, second)
        assert tail is not None
        db.execute(
            update(AuditEntry)
            .where(AuditEntry.chain == first, AuditEntry.seq == _length(server, first))
            .values(chain=second, seq=length + 1, prev_hash=tail.hash)
        )
    first_length = _length(server, first) + 1
    result = _verify_cli(server)
    assert result.returncode == 1
    assert f"entrée {first_length} et suivantes supprimées (fin de la chaîne {first})" in (
        result.stderr
    )
    # The first chain's head row moved back too: the entry is named where it was put.
    with server.state.sessions() as db, db.begin():
        end = _length(server, first)
        sealed = db.scalar(
            select(AuditEntry.hash).where(AuditEntry.chain == first, AuditEntry.seq == end)
        )
        db.execute(
            update(AuditChainHead).where(AuditChainHead.chain == first).values(seq=end, hash=sealed)
        )
    result = _verify_cli(server)
    assert result.returncode == 1
    assert f"entrée {length + 1} modifiée ou déplacée (chaîne {second}," in result.stderr


@postgresql_only
def test_a_chain_cut_with_its_head_moved_back_is_caught_by_the_roots(server: Server) -> None:
    chains = _spread(server)
    _trace_more(server, 2, ins=chains[_two_chains(chains)[0]][0])
    chain = _two_chains(chains)[0]
    length = _length(server, chain)
    with server.state.sessions() as db, db.begin():
        kept = db.scalar(
            select(AuditEntry.hash).where(AuditEntry.chain == chain, AuditEntry.seq == length - 1)
        )
        db.execute(delete(AuditEntry).where(AuditEntry.chain == chain, AuditEntry.seq == length))
        db.execute(
            update(AuditChainHead)
            .where(AuditChainHead.chain == chain)
            .values(seq=length - 1, hash=kept)
        )
    result = _verify_cli(server)
    assert result.returncode == 1
    assert f"entrée {length} et suivantes supprimées (fin de la chaîne {chain})" in result.stderr
    assert "(la racine 2 la listait)" in result.stderr
    with pytest.raises(AuditTampered):  # and the sealer does not build on it
        _trace_more(server, 1, ins=chains[chain][0])


def test_a_chain_head_moved_back_stops_the_sealer(server: Server) -> None:
    """With only the database: entries marked unsealed after a chain's head moved back, the
    roots left alone: the sealer, which holds the key, would chain them again."""
    _trace_more(server, 10, ins=PATIENTS[0])
    chain = _chain(server, PATIENTS[0])
    with server.state.sessions() as db, db.begin():
        kept = db.scalar(
            select(AuditEntry.hash).where(AuditEntry.chain == chain, AuditEntry.seq == 5)
        )
        db.execute(
            update(AuditEntry)
            .where(AuditEntry.chain == chain, AuditEntry.seq > 5)
            .values(chain=None, seq=None, prev_hash=None, hash=None)
        )
        db.execute(
            update(AuditChainHead).where(AuditChainHead.chain == chain).values(seq=5, hash=kept)
        )
    with pytest.raises(AuditTampered):
        server.state.sealer.run_once()
    with server.state.sessions() as db:
        assert db.scalar(select(func.count()).where(AuditEntry.seq.is_(None))) == 5


def _chain(server: Server, ins: str) -> int:
    with server.state.sessions() as db:
        chain = db.scalar(select(AuditEntry.chain).where(AuditEntry.patient_ins == ins).limit(1))
    assert chain is not None
    return chain


def test_a_dropped_or_rewritten_root_is_named(server: Server) -> None:
    for ins in PATIENTS[:3]:
        _trace_more(server, 2, ins=ins)
    assert _roots(server) == 3
    with server.state.sessions() as db, db.begin():
        root = db.get(AuditRoot, 2)
        assert root is not None
        root.heads = root.heads[:-1] + ("1" if root.heads.endswith("0") else "0")
    result = _verify_cli(server)
    assert result.returncode == 1
    assert "audit : racine 2 modifiée" in result.stderr
    run_sql(server.state.engine, "DELETE FROM audit_roots WHERE seq = 2")
    result = _verify_cli(server)
    assert result.returncode == 1
    assert "audit : racine 2 supprimée" in result.stderr
    run_sql(server.state.engine, "DELETE FROM audit_roots WHERE seq = 3")  # the last one
    result = _verify_cli(server)
    assert result.returncode == 1
    assert "audit : racine 2 et suivantes supprimées (fin des racines)" in result.stderr


def test_roots_cut_at_the_end_leave_entries_outside_any_root(server: Server) -> None:
    for ins in PATIENTS[:2]:
        _trace_more(server, 2, ins=ins)
    (server.state.settings.home / "audit.head").unlink()  # the host too: no sealer's head
    with server.state.sessions() as db, db.begin():
        first = db.get(AuditRoot, 1)
        assert first is not None
        db.execute(delete(AuditRoot).where(AuditRoot.seq == 2))
        db.execute(update(AuditHead).values(seq=1, hash=first.hash))
    result = _verify_cli(server)
    assert result.returncode == 1
    assert "scellées hors de toute racine" in result.stderr


@postgresql_only
def test_an_exported_root_catches_chains_cut_back_to_an_older_root(server: Server) -> None:
    chains = _spread(server)
    chain = _two_chains(chains)[1]
    saw = _roots(server)
    length = _length(server, chain)
    _trace_more(server, 2, ins=chains[chain][0])
    head = _head(server)
    _cut(server, chain, length)  # back to what root `saw` lists: a valid log
    (server.state.settings.home / "audit.head").unlink()
    assert _verify_cli(server).returncode == 0
    result = _verify_cli(server, "--expect-head", head)
    assert result.returncode == 1
    assert f"la tête attendue n'est plus dans la chaîne, qui s'arrête à la racine {saw}" in (
        result.stderr
    )


def test_a_long_log_verifies_in_constant_memory(server: Server) -> None:
    server.state.sealer.stop()
    now = server.state.now()
    rows = [
        {
            "at": now,
            "actor_id": DOCTOR.id,
            "actor_name": DOCTOR.name,
            "role": DOCTOR.role.value,
            "mode": "normal",
            "patient_ins": PATIENTS[i % len(PATIENTS)],
            "action": "open",
            "outcome": "allowed",
            "detail": "x" * 200,
        }
        for i in range(20_000)
    ]
    with server.state.sessions() as db, db.begin():
        db.execute(insert(AuditEntry), rows)
    server.state.sealer.run_once()
    with server.state.sessions() as db:
        tracemalloc.start()
        result = AuditLog.verify(db, key=server.state.sealer.key, batch=500)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert result.ok and result.entries == 20_000 and result.roots == 10, result
    # 20,000 entries held at once would take tens of megabytes.
    assert peak < 8_000_000, peak


# -- entries sealed before the split (migration 0015) -------------------------------------------


def _legacy_chain(server: Server, count: int) -> list[tuple[int, str]]:
    """As the service sealed before migration 0015: one chain, the old encoding and genesis,
    written with plain SQL into the schema of 0014. Returns (seq, hash) of each entry."""
    key, now = server.state.sealer.key, server.state.now()
    prev, sealed = genesis(key, LEGACY_CHAIN), []
    with server.state.engine.begin() as conn:
        for seq in range(1, count + 1):
            entry = AuditEntry(
                chain=LEGACY_CHAIN,
                seq=seq,
                at=now - dt.timedelta(days=1, seconds=-seq),
                recorded_at=now - dt.timedelta(days=1, seconds=-seq),
                actor_id=DOCTOR.id,
                actor_name=DOCTOR.name,
                role=DOCTOR.role.value,
                mode="normal",
                patient_ins=PATIENTS[seq % 5],
                action="open",
                outcome="allowed",
                detail=f"avant {seq}",
                prev_hash=prev,
            )
            entry.hash = entry_hash(key, prev, entry)
            conn.execute(
                text(
                    "INSERT INTO audit_entries (seq, at, recorded_at, actor_id, actor_name, role,"
                    " mode, patient_ins, action, outcome, detail, prev_hash, hash) VALUES (:seq,"
                    " :at, :recorded_at, :actor_id, :actor_name, :role, :mode, :patient_ins,"
                    " :action, :outcome, :detail, :prev_hash, :hash)"
                ),
                {
                    c: getattr(entry, c)
                    for c in (
                        "seq",
                        "at",
                        "recorded_at",
                        "actor_id",
                        "actor_name",
                        "role",
                        "mode",
                        "patient_ins",
                        "action",
                        "outcome",
                        "detail",
                        "prev_hash",
                        "hash",
                    )
                },  # fmt: skip
            )
            prev = entry.hash
            sealed.append((seq, prev))
        conn.execute(
            text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"), {"s": count, "h": prev}
        )
    return sealed


def test_entries_sealed_before_the_split_stay_verifiable(server: Server) -> None:
    legacy = _split_after_legacy(server, 12)
    exported = f"{legacy[-1][0]}:{legacy[-1][1]}"  # `central audit head` before the split
    assert _verify_cli(server, "--expect-head", exported).returncode == 0  # no root yet
    assert _head(server) == exported
    sealer = _sealer_after_migration(server)
    assert sealer.run_once() == 0  # root 1 over the legacy chain alone
    _trace_more_with(sealer, server, PATIENTS[:3])
    result = _verify_cli(server, "--expect-head", exported)  # the old head is still good
    assert result.returncode == 0, result.stderr
    with server.state.sessions() as db:
        assert db.scalar(select(func.count()).where(AuditEntry.chain == LEGACY_CHAIN)) == 12
        first = db.get(AuditRoot, 1)
        assert first is not None and _listed(first) == {LEGACY_CHAIN: legacy[-1]}
    run_sql(
        server.state.engine,
        "UPDATE audit_entries SET detail = 'autre' WHERE chain = -1 AND seq = 5",
    )
    result = _verify_cli(server)
    assert result.returncode == 1
    assert "entrée 5 modifiée ou déplacée (chaîne d'avant le partage," in result.stderr


def test_a_legacy_chain_cut_after_the_split_is_caught_by_root_1(server: Server) -> None:
    legacy = _split_after_legacy(server, 8)
    sealer = _sealer_after_migration(server)
    sealer.run_once()
    with server.state.sessions() as db, db.begin():
        db.execute(delete(AuditEntry).where(AuditEntry.chain == LEGACY_CHAIN, AuditEntry.seq > 6))
        db.execute(
            update(AuditChainHead)
            .where(AuditChainHead.chain == LEGACY_CHAIN)
            .values(seq=6, hash=legacy[5][1])
        )
    result = _verify_cli(server)
    assert result.returncode == 1
    assert "entrée 7 et suivantes supprimées (fin de la chaîne d'avant le partage)" in result.stderr


def test_the_migration_goes_back_and_forth(server: Server) -> None:
    _split_after_legacy(server, 4)
    url = server.state.settings.database_url
    sealer = _sealer_after_migration(server)
    _trace_more_with(sealer, server, PATIENTS[:6])
    # Back: the old schema holds one chain; what the split's chains sealed waits unsealed.
    command.downgrade(alembic_config(url, audit_key=server.state.sealer.key), "0014")
    with server.state.engine.connect() as conn:
        assert conn.execute(text("SELECT seq, hash FROM audit_head")).one()[0] == 4
        unsealed = conn.execute(text("SELECT count(*) FROM audit_entries WHERE seq IS NULL"))
        assert unsealed.scalar_one() == 6
    command.upgrade(alembic_config(url), "head")
    fresh = AuditSealer(server.state.sessions, key=server.state.sealer.key)
    assert fresh.run_once() == 6
    with server.state.sessions() as db:
        result = AuditLog.verify(db, key=fresh.key)
    assert result.ok and result.entries == 10 and result.pending == 0, result


def _split_after_legacy(server: Server, entries: int) -> list[tuple[int, str]]:
    """A log sealed before the split (`entries` in the one old chain), then migrated to the
    split; returns the old chain's (seq, hash)."""
    server.state.sealer.stop()
    url = server.state.settings.database_url
    command.downgrade(alembic_config(url, audit_key=server.state.sealer.key), "0014")
    legacy = _legacy_chain(server, entries)
    command.upgrade(alembic_config(url), "head")
    return legacy


def _sealer_after_migration(server: Server) -> AuditSealer:
    """A sealer that knows the head exported just after the migration (the legacy one)."""
    sealer = AuditSealer(server.state.sessions, key=server.state.sealer.key)
    with server.state.sessions() as db:
        sealer.known = AuditLog.head(db, key=sealer.key).head
    return sealer


def _trace_more_with(sealer: AuditSealer, server: Server, patients: list[str]) -> None:
    with server.state.sessions() as db, db.begin():
        for ins in patients:
            trace(db, DOCTOR, AuditAction.OPEN, now=server.state.now(), patient_ins=ins)
    sealer.run_once()


def test_the_cli_names_the_last_root(server: Server) -> None:
    _trace_more(server, 2, ins=PATIENTS[0])
    _trace_more(server, 2, ins=PATIENTS[1])
    head = _head(server)
    assert head.startswith("2:")
    result = _audit_cli(server, "verify", "--expect-head", head)
    assert result.returncode == 0 and "tête attendue 2 présente" in result.stdout


def _forge(server: Server, *, chain: int | None, seq: int) -> None:
    """A row written straight into the database that looks sealed: seq and hashes set."""
    run_sql(
        server.state.engine,
        "INSERT INTO audit_entries (at, recorded_at, actor_id, actor_name, role, mode,"
        " patient_ins, action, outcome, detail, chain, seq, prev_hash, hash)"
        " VALUES (:at, :at, '810100457828', 'Dr Forged', 'health_professional', 'bris_de_glace',"
        " :ins, 'open', 'allowed', 'forged', :chain, :seq, :h, :h)",
        at=server.state.now(),
        ins=PATIENTS[0],
        chain=chain,
        seq=seq,
        h="ab" * 32,
    )


@pytest.mark.parametrize(("chain", "seq"), [(None, 7), (0, 0), (0, -3)])
def test_a_row_that_looks_sealed_outside_every_chain_is_named(
    server: Server, chain: int | None, seq: int
) -> None:
    """A forged entry with a seq but no chain, or a seq below 1, would show in the patient's
    access log as if it were sealed: verify walks the chains by (chain, seq >= 1), so it
    counts every row that looks sealed against what it walked."""
    _spread(server, per_patient=1)
    _forge(server, chain=chain, seq=seq)
    result = _verify_cli(server)
    assert result.returncode == 1
    assert f"une entrée marquée scellée (numéro {seq}) n'est dans aucune chaîne" in result.stderr
    with server.state.sessions() as db:
        found = AuditLog.verify(db, key=server.state.sealer.key)
    assert found.problem is ChainProblem.UNCHAINED and found.chain == chain


def test_no_way_back_below_the_split_without_the_key(server: Server) -> None:
    """Going below 0015 unseals what the chains sealed since the split: without the key to
    verify the log first, the downgrade is refused and nothing changes."""
    _spread(server, per_patient=1)
    url = server.state.settings.database_url
    with pytest.raises(RuntimeError, match="give the audit key"):
        command.downgrade(alembic_config(url), "0014")
    with server.state.sessions() as db:
        assert AuditLog.verify(db, key=server.state.sealer.key).ok


def test_a_tampered_log_is_not_laundered_by_a_downgrade(server: Server) -> None:
    """An entry edited in the database since the split would be chained again, with the key,
    by the old sealer after a downgrade: the downgrade verifies first and refuses."""
    _spread(server, per_patient=2)
    server.state.sealer.stop()
    run_sql(
        server.state.engine,
        "UPDATE audit_entries SET detail = 'autre' WHERE chain IS NOT NULL AND seq = 2",
    )
    url = server.state.settings.database_url
    with pytest.raises(RuntimeError, match="does not verify"):
        command.downgrade(alembic_config(url, audit_key=server.state.sealer.key), "0014")
    result = _verify_cli(server)
    assert result.returncode == 1 and "modifiée ou déplacée" in result.stderr


@postgresql_only
def test_a_copy_of_a_chains_place_in_another_partition_is_caught(server: Server) -> None:
    """A partition keys (chain, seq) alone: a sealed entry copied into another partition,
    hashes and all, is met by its chain's walk."""
    chains = _spread(server)
    first, second = _two_chains(chains)
    run_sql(
        server.state.engine,
        "INSERT INTO audit_entries (at, recorded_at, actor_id, actor_name, role, mode,"
        " patient_ins, action, outcome, detail, chain, seq, prev_hash, hash)"
        " SELECT at, recorded_at, actor_id, actor_name, role, mode, :other, action, outcome,"
        " detail, chain, seq, prev_hash, hash FROM audit_entries WHERE chain = :c AND seq = 2",
        other=chains[second][0],
        c=first,
    )
    with server.state.sessions() as db:
        result = AuditLog.verify(db, key=server.state.sealer.key)
    assert not result.ok and result.chain == first, result
