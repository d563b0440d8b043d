"""The audit chain: tampering with the database is found, and named, by `central audit verify`."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, update

from central.actors import Actor
from central.audit.models import AuditChainHead, AuditEntry, AuditHead, AuditRoot
from central.audit.service import (
    AuditLog,
    AuditSealer,
    AuditTampered,
    entry_hash,
    genesis,
    heads_text,
    root_genesis,
    root_hash,
)
from central.audit.trail import AuditAction, AuditOutcome, trace
from dmpcommon.vocabulary import AccessMode, Role
from tests.support.central import ROOT, Server, run_sql
from tests.support.dmp import JEANNE, PHARMACIST, create, open_record


def _audit_cli(server: Server, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "central",
            "audit",
            *args,
            "--db",
            server.state.settings.database_url,
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={**os.environ, "CENTRAL_HOME": str(server.state.settings.home), **env},
    )


def _verify_cli(server: Server, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return _audit_cli(server, "verify", *args, **env)


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
        assert db.scalar(select(func.count()).where(AuditEntry.seq.is_(None))) == 0  # all sealed
    assert count is not None and count >= 15
    return count


def _longest_chain(server: Server) -> tuple[int, int]:
    """The chain with the most entries (on PostgreSQL the entries of logins and of the
    patient are in different partitions' chains) and its length."""
    with server.state.sessions() as db:
        chain, length = db.execute(
            select(AuditEntry.chain, func.count())
            .where(AuditEntry.chain.is_not(None))
            .group_by(AuditEntry.chain)
            .order_by(func.count().desc(), AuditEntry.chain)
            .limit(1)
        ).one()
    return chain, length


def test_intact_chain_verifies(server: Server, history: int) -> None:
    result = _verify_cli(server)
    assert result.returncode == 0, result.stderr
    assert f"OK : {history} entrées" in result.stdout


def test_a_changed_entry_is_named(server: Server, history: int) -> None:
    chain = _longest_chain(server)[0]
    run_sql(
        server.state.engine,
        "UPDATE audit_entries SET outcome = CASE WHEN outcome = 'allowed' THEN 'refused'"
        " ELSE 'allowed' END WHERE chain = :c AND seq = 7",
        c=chain,
    )
    result = _verify_cli(server)
    assert result.returncode == 1
    assert f"entrée 7 modifiée ou déplacée (chaîne {chain}," in result.stderr


def test_a_deleted_entry_is_named(server: Server, history: int) -> None:
    chain = _longest_chain(server)[0]
    run_sql(server.state.engine, "DELETE FROM audit_entries WHERE chain = :c AND seq = 9", c=chain)
    result = _verify_cli(server)
    assert result.returncode == 1
    assert f"entrée 9 supprimée (chaîne {chain}," in result.stderr


def test_reordered_entries_are_named(server: Server, history: int) -> None:
    # Swap entries 4 and 5 (their sequence numbers), as someone hiding an order of events would.
    engine, chain = server.state.engine, _longest_chain(server)[0]
    run_sql(engine, "UPDATE audit_entries SET seq = -4 WHERE chain = :c AND seq = 4", c=chain)
    run_sql(engine, "UPDATE audit_entries SET seq = 4 WHERE chain = :c AND seq = 5", c=chain)
    run_sql(engine, "UPDATE audit_entries SET seq = 5 WHERE chain = :c AND seq = -4", c=chain)
    result = _verify_cli(server)
    assert result.returncode == 1
    assert "entrée 4 " in result.stderr and f"chaîne {chain}" in result.stderr


def test_truncated_tail_is_found(server: Server, history: int) -> None:
    chain, length = _longest_chain(server)
    run_sql(
        server.state.engine,
        "DELETE FROM audit_entries WHERE chain = :c AND seq > :n",
        c=chain,
        n=length - 2,
    )
    result = _verify_cli(server)
    assert result.returncode == 1
    assert f"entrée {length - 1} et suivantes supprimées (fin de la chaîne {chain})" in (
        result.stderr
    )


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
        result = AuditLog.verify(db, key=server.state.sealer.key)
        total = db.scalar(select(func.count()).select_from(AuditEntry))
    assert result.ok, result
    assert (result.entries, result.pending) == (total, 0)


def test_unsealed_entries_are_reported_pending(server: Server, tokens: dict[str, str]) -> None:
    server.state.sealer.stop()  # no background sealing from here on
    create(server, tokens["agent"])
    with server.state.sessions() as db:
        result = AuditLog.verify(db, key=server.state.sealer.key)
    assert result.ok and result.pending >= 1
    assert "en attente de scellement" in _verify_cli(server).stdout


# -- the keyed chain: an attacker with the database but not the key --------------------------

DOCTOR = Actor(id="810100457828", name="Dr Morvan", role=Role.HEALTH_PROFESSIONAL, session_id="s-1")
HEAD_LINE = re.compile(r"[1-9][0-9]*:[0-9a-f]{64}")


@pytest.fixture
def traced(server: Server) -> int:
    """Thirty entries written by the service's own trail and sealed by its sealer, one of
    them a break-glass opening (the entry someone would most like to erase). Returns the
    break-glass entry's sequence number."""
    now = server.state.now()
    with server.state.sessions() as db, db.begin():
        for i in range(30):
            glass = i == 17
            trace(
                db,
                DOCTOR,
                AuditAction.OPEN,
                now=now + dt.timedelta(seconds=i),
                outcome=AuditOutcome.ALLOWED,
                patient_ins=JEANNE,
                mode=AccessMode.BREAK_GLASS if glass else AccessMode.NORMAL,
                detail="URGENCE_VITALE: malaise au comptoir" if glass else "",
            )
    server.state.sealer.run_once()
    with server.state.sessions() as db:
        assert db.scalar(select(func.count()).where(AuditEntry.seq.is_(None))) == 0
        glass_seq = db.scalar(select(AuditEntry.seq).where(AuditEntry.mode == "bris_de_glace"))
    assert glass_seq is not None
    return glass_seq


def _count(server: Server) -> int:
    with server.state.sessions() as db:
        return db.scalar(select(func.count()).select_from(AuditEntry)) or 0


def _roots(server: Server) -> int:
    with server.state.sessions() as db:
        return db.scalar(select(func.count()).select_from(AuditRoot)) or 0


def _chain_of(server: Server, ins: str = JEANNE) -> int:
    """The chain of a patient's entries (on PostgreSQL, their partition's)."""
    with server.state.sessions() as db:
        chains = set(db.scalars(select(AuditEntry.chain).where(AuditEntry.patient_ins == ins)))
    assert len(chains) == 1 and None not in chains, chains
    return chains.pop() or 0


def _trace_more(server: Server, count: int, *, ins: str | None = JEANNE) -> None:
    """More entries about a patient, sealed (one more root)."""
    with server.state.sessions() as db, db.begin():
        for i in range(count):
            trace(
                db, DOCTOR, AuditAction.OPEN, now=server.state.now(), patient_ins=ins, detail=str(i)
            )
    server.state.sealer.run_once()


def _head(server: Server) -> str:
    result = _audit_cli(server, "head")
    assert result.returncode == 0, result.stderr
    assert HEAD_LINE.fullmatch(result.stdout.strip()), result.stdout
    assert result.stdout.count("\n") == 1  # one line, to be stored elsewhere
    return result.stdout.strip()


def _plain_sha256(prev_hash: str, entry: AuditEntry) -> str:
    """What a plain hash chain does (the chain before the key): anyone can compute it."""
    fields = [
        entry.seq,
        entry.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        entry.actor_id,
        entry.actor_name,
        entry.role,
        entry.mode,
        entry.patient_ins,
        entry.action,
        entry.outcome,
        entry.detail,
    ]
    payload = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(prev_hash.encode() + payload).hexdigest()


def _listed(root: AuditRoot) -> dict[int, tuple[int, str]]:
    heads = {}
    for line in root.heads.splitlines():
        chain, seq, sealed = line.split(":")
        heads[int(chain)] = (int(seq), sealed)
    return heads


def _rechain(
    server: Server,
    *,
    chain: int,
    delete_seq: int | None,
    rehash: Callable[[str, AuditEntry], str],
) -> None:
    """As an attacker with write access to the database: delete an entry of a chain, close
    the gap, recompute every hash after it and move the chain's head."""
    ours = AuditEntry.chain == chain
    with server.state.sessions() as db, db.begin():
        if delete_seq is not None:
            db.execute(delete(AuditEntry).where(ours, AuditEntry.seq == delete_seq))
            for entry in db.scalars(
                select(AuditEntry).where(ours, AuditEntry.seq > delete_seq).order_by(AuditEntry.seq)
            ):
                entry.seq = (entry.seq or 0) - 1
                db.flush()  # one at a time: (chain, seq) is unique
        start = delete_seq or 1
        prev = db.scalar(select(AuditEntry.hash).where(ours, AuditEntry.seq == start - 1))
        entries = db.scalars(
            select(AuditEntry).where(ours, AuditEntry.seq >= start).order_by(AuditEntry.seq)
        ).all()
        prev = prev or entries[0].prev_hash or "0" * 64
        for entry in entries:
            entry.prev_hash = prev
            entry.hash = prev = rehash(prev, entry)
        head = db.get(AuditChainHead, chain)
        assert head is not None
        head.seq, head.hash = entries[-1].seq or 0, prev


def _reroot(server: Server, key: bytes) -> None:
    """As whoever holds a key too: every root written again over the chains as they are now,
    chained under that key, and the head row moved to the last."""
    with server.state.sessions() as db, db.begin():
        prev = root_genesis(key)
        for root in db.scalars(select(AuditRoot).order_by(AuditRoot.seq)).all():
            now = []
            for chain, (seq, _) in _listed(root).items():
                sealed = db.scalar(
                    select(AuditEntry.hash).where(AuditEntry.chain == chain, AuditEntry.seq == seq)
                )
                assert sealed is not None
                now.append((chain, seq, sealed))
            root.heads, root.prev_hash = heads_text(now), prev
            root.hash = prev = root_hash(key, prev, seq=root.seq, at=root.at, heads=root.heads)
            db.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=root.seq, hash=prev))


def _cut(server: Server, chain: int, keep: int, *, unseal: bool = False) -> None:
    """As an attacker with only the database: cut a chain after entry `keep` (or mark what
    follows unsealed, for the sealer to chain again), move its head back, drop the roots that
    saw more of it and point the head row at the last root left."""
    ours = AuditEntry.chain == chain
    with server.state.sessions() as db, db.begin():
        kept = db.scalar(select(AuditEntry.hash).where(ours, AuditEntry.seq == keep))
        assert kept is not None
        if unseal:
            db.execute(
                update(AuditEntry)
                .where(ours, AuditEntry.seq > keep)
                .values(chain=None, seq=None, prev_hash=None, hash=None)
            )
        else:
            db.execute(delete(AuditEntry).where(ours, AuditEntry.seq > keep))
        db.execute(
            update(AuditChainHead).where(AuditChainHead.chain == chain).values(seq=keep, hash=kept)
        )
        for root in db.scalars(select(AuditRoot).order_by(AuditRoot.seq.desc())).all():
            if _listed(root).get(chain, (0, ""))[0] <= keep:
                db.execute(
                    update(AuditHead).where(AuditHead.id == 1).values(seq=root.seq, hash=root.hash)
                )
                break
            db.delete(root)
        else:
            db.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=0, hash="0" * 64))


def test_head_is_one_line_and_verify_names_the_same_head(server: Server, traced: int) -> None:
    head = _head(server)
    roots = _roots(server)
    assert roots >= 1 and head.startswith(f"{roots}:")  # it names the last root
    result = _verify_cli(server, "--expect-head", head)
    assert result.returncode == 0, result.stderr
    assert f"tête {head}" in result.stdout and f"tête attendue {roots} présente" in result.stdout
    assert f"OK : {_count(server)} entrées" in result.stdout


def test_the_key_is_a_private_file_beside_the_database(server: Server, traced: int) -> None:
    path = server.state.settings.home / "audit.key"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert path.read_bytes() == server.state.sealer.key and len(server.state.sealer.key) == 32
    assert server.state.sealer.key != server.state.keys.secret  # one key, one purpose


def test_a_truncated_chain_is_caught_by_the_exported_head(server: Server, traced: int) -> None:
    chain, saw = _chain_of(server), _roots(server)  # a root that saw the 30 entries
    _trace_more(server, 3)
    head = _head(server)
    # Cut the tail back to what the older root saw, drop the root after it and move the heads
    # back: what is left is a valid log. (Cut anywhere else, a root that is left catches it:
    # test_audit_chains.)
    _cut(server, chain, 30)
    anchor = server.state.settings.home / "audit.head"  # the sealer's own last root
    assert _verify_cli(server).returncode == 1
    anchor.unlink()  # whoever has the host too: why the head must be kept elsewhere as well
    assert _verify_cli(server).returncode == 0
    result = _verify_cli(server, "--expect-head", head)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"la tête attendue n'est plus dans la chaîne, qui s'arrête à la racine {saw}" in (
        result.stderr
    )


def test_the_sealer_does_not_chain_again_what_was_unsealed(server: Server, traced: int) -> None:
    """With only the database: delete the break-glass entry, mark what follows unsealed and
    move the heads back, for the service's own sealer (which holds the key) to chain again."""
    chain = _chain_of(server)
    with server.state.sessions() as db, db.begin():
        db.execute(delete(AuditEntry).where(AuditEntry.chain == chain, AuditEntry.seq == traced))
    _cut(server, chain, traced - 1, unseal=True)
    with pytest.raises(AuditTampered):
        server.state.sealer.run_once()
    restarted = AuditSealer(  # a service started again reads the head it kept
        server.state.sessions,
        key=server.state.sealer.key,
        anchor=server.state.settings.home / "audit.head",
    )
    with pytest.raises(AuditTampered):
        restarted.run_once()
    with server.state.sessions() as db:
        assert db.scalar(select(func.count()).where(AuditEntry.seq.is_(None))) == 30 - traced
    result = _verify_cli(server)
    assert result.returncode == 1 and "la tête attendue n'est plus dans la chaîne" in result.stderr


def test_a_deleted_break_glass_entry_rechained_without_the_key_is_caught(
    server: Server, traced: int
) -> None:
    chain = _chain_of(server)
    _rechain(server, chain=chain, delete_seq=traced, rehash=_plain_sha256)
    with server.state.sessions() as db:  # the attack did what it meant to
        assert db.scalar(select(func.count()).where(AuditEntry.mode == "bris_de_glace")) == 0
    result = _verify_cli(server)
    assert result.returncode == 1
    assert f"audit : entrée {traced} modifiée ou déplacée (chaîne {chain}," in result.stderr


def test_a_chain_rebuilt_whole_under_another_key_is_caught(server: Server, traced: int) -> None:
    forged = b"k" * 32  # the attacker's own key: a log that is internally consistent
    chain = _chain_of(server)

    def rehash(prev: str, entry: AuditEntry) -> str:
        return entry_hash(forged, prev, entry)

    with server.state.sessions() as db, db.begin():
        db.execute(
            update(AuditEntry)
            .where(AuditEntry.chain == chain, AuditEntry.seq == 1)
            .values(prev_hash=genesis(forged, chain))
        )
    _rechain(server, chain=chain, delete_seq=None, rehash=rehash)
    _reroot(server, forged)
    with server.state.sessions() as db:  # it verifies under the attacker's key...
        assert AuditLog.verify(db, key=forged).ok
    result = _verify_cli(server)  # ...not under the service's
    assert result.returncode == 1
    assert "n'est pas celle qui a scellé la chaîne" in result.stderr


def test_a_chain_rebuilt_whole_without_a_key_is_caught(server: Server, traced: int) -> None:
    chain = _chain_of(server)
    with server.state.sessions() as db, db.begin():
        db.execute(
            update(AuditEntry)
            .where(AuditEntry.chain == chain, AuditEntry.seq == 1)
            .values(prev_hash="0" * 64)
        )
    _rechain(server, chain=chain, delete_seq=None, rehash=_plain_sha256)
    result = _verify_cli(server)
    assert result.returncode == 1
    assert "entrée 1 : chaîne scellée sans clé" in result.stderr


def test_a_rewrite_with_the_key_is_caught_by_the_exported_head(server: Server, traced: int) -> None:
    head = _head(server)
    key, chain = server.state.sealer.key, _chain_of(server)

    def rehash(prev: str, entry: AuditEntry) -> str:
        return entry_hash(key, prev, entry)

    # Whoever holds the key too can rewrite the break-glass reason and chain again...
    with server.state.sessions() as db, db.begin():
        db.execute(
            update(AuditEntry)
            .where(AuditEntry.chain == chain, AuditEntry.seq == traced)
            .values(detail="AUTRE")
        )
    _rechain(server, chain=chain, delete_seq=None, rehash=rehash)
    _reroot(server, key)
    (server.state.settings.home / "audit.head").unlink()  # and the host: the sealer's head
    assert _verify_cli(server).returncode == 0
    # ...but not match a head kept elsewhere.
    result = _verify_cli(server, "--expect-head", head)
    assert result.returncode == 1
    assert f"racine {head.split(':')[0]} différente de la tête attendue" in result.stderr


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "clé d'audit introuvable"),
        (b"", "vide"),
        (b"short", "trop courte (5 octets)"),
        (b"w" * 32, "n'est pas celle qui a scellé la chaîne"),
    ],
    ids=["missing", "empty", "short", "wrong"],
)
def test_a_missing_or_wrong_key_is_one_clear_line(
    server: Server, traced: int, tmp_path: Path, key: bytes | None, message: str
) -> None:
    path = tmp_path / "elsewhere" / "audit.key"
    if key is not None:
        path.parent.mkdir()
        path.write_bytes(key)
    for command in ("verify", "head"):
        result = _audit_cli(server, command, CENTRAL_AUDIT_KEY_FILE=str(path))
        assert result.returncode == 1, command
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert "clé d'audit" in result.stderr and message in result.stderr, result.stderr
        assert result.stdout == ""
    assert path.exists() == (key is not None)  # the command line never makes a key


def test_a_malformed_expected_head_is_one_clear_line(server: Server, traced: int) -> None:
    for text in ("", "30", "30:xyz", f"-1:{'a' * 64}", f"30:{'a' * 63}"):
        result = _verify_cli(server, f"--expect-head={text}")
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and "tête attendue illisible" in result.stderr


def test_two_sealers_racing_keep_one_chain(server: Server) -> None:
    # Two service workers share the database and the key file: the head row's lock must
    # keep their batches from interleaving.
    server.state.sealer.stop()
    rival = AuditSealer(server.state.sessions, key=server.state.sealer.key)
    stop = threading.Event()

    def write() -> None:
        for i in range(120):
            with server.state.sessions() as db, db.begin():
                trace(db, DOCTOR, AuditAction.OPEN, now=server.state.now(), detail=str(i))

    def seal(sealer: AuditSealer) -> None:
        while not stop.is_set():
            sealer.run_once()

    sealers = [threading.Thread(target=seal, args=(s,)) for s in (server.state.sealer, rival)]
    for thread in sealers:
        thread.start()
    write()
    stop.set()
    for thread in sealers:
        thread.join(30)
    rival.run_once()
    with server.state.sessions() as db:
        result = AuditLog.verify(db, key=server.state.sealer.key)
    assert result.ok and (result.entries, result.pending) == (120, 0), result
