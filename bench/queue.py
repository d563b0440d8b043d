"""Queue benchmark: enqueue against its floor, draining a backlog, the central ingest rate.

- `enqueue_per_s`: ActionQueue.enqueue (seal to the central key + sign + durable commit).
- `floor_per_s`, in the same run, on the same disk: an Ed25519 signature plus a
  `synchronous=FULL` WAL SQLite commit of a blob of the same size (what enqueue cannot avoid).
  The two are measured in alternating rounds so that machine noise hits both alike.
- `drain_sqlite_s` / `drain_postgresql_s`: time for the kiosk's sync client to drain a
  backlog of 10,000 actions to `central serve` on loopback (signed requests, batches of 200),
  the service on SQLite / on PostgreSQL (database `dmp_bench_queue`, made by the test role).
- `ingest_per_s`: the service's ingest alone (verify, open, apply, trace, receipt), in
  process, no HTTP, on PostgreSQL (SQLite with --quick).
- `ingest_floor_per_s`, in the same run, on the same PostgreSQL database and the same batches
  (BATCH actions a transaction, `synchronous_commit` on), in alternating rounds with the
  ingest: per action the signature verified, the envelope decoded, its payload opened and one
  INSERT, on the driver's own connection (what an ingest cannot avoid); `ingest_ratio` =
  ingest_per_s / ingest_floor_per_s. Not with --quick (its ingest runs on SQLite).

The backlog is the counter's kind of traffic: an operator session, a DMP creation, then
qualifications, consents, contacts, treating doctors and traced refusals. `--quick`: 1,000
actions, SQLite only, same keys but `drain_postgresql_s` and the ingest's floor. Prints one
JSON line.
Run: `.venv/bin/python bench/queue.py [--quick]` (needs `make postgres` without --quick).
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file bears the name of the standard library's `queue`, which urllib3 and psycopg
# import: keep its folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import base64  # noqa: E402
import dataclasses  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import sqlite3  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import psycopg  # noqa: E402
import requests  # noqa: E402
from uuid_utils.compat import uuid7  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from central.config import Settings  # noqa: E402
from central.migrate import upgrade  # noqa: E402
from central.state import build_state  # noqa: E402
from central.sync.actions import appliers  # noqa: E402
from central.sync.ingest import ingest  # noqa: E402
from central.sync.models import Kiosk  # noqa: E402
from dmpcommon.actions import (  # noqa: E402
    ActionPayload,
    CardReadRefused,
    CardTraits,
    ConsentRecorded,
    ContactSet,
    DmpCreated,
    IdentityToQualify,
    NotificationContact,
    OperatorSessionOpened,
    RefusedCard,
    TreatingDoctorSet,
    build_payload_types,
    encode_payload,
)
from dmpcommon.envelope import GENESIS_HASH, ActionEnvelope, envelope_hash  # noqa: E402
from dmpcommon.sealing import open_sealed, seal  # noqa: E402
from dmpcommon.signing import public_bytes, sign, verify  # noqa: E402
from dmpcommon.vocabulary import ContactChannel  # noqa: E402
from kiosk.sync.client import SyncClient  # noqa: E402
from kiosk.sync.queue import ActionQueue, open_engine  # noqa: E402
from kiosk.sync.transport import CentralClient, RequestSigner  # noqa: E402
from tests.support.central import fixture_professional  # noqa: E402

KIOSK_ID = "kiosk-bench"
SESSION = "session-bench"
PHARMACIST = "899700218896"
JEANNE = "279035121518989"  # fixtures/identities.json
CARD = CardTraits(nom="BERNARD", prenom="JEANNE", birth_date="1979-03-28", nir=JEANNE)
BATCH = 200


def _payloads(count: int) -> list[ActionPayload]:
    """count actions: session, creation, then a rotation of the counter's other actions."""
    attestation = fixture_professional(PHARMACIST).attestation(
        kiosk_id=KIOSK_ID, session_id=SESSION
    )
    actions: list[ActionPayload] = [
        OperatorSessionOpened(
            issued_at=attestation["issued_at"],
            certificate=attestation["certificate"],
            signature=attestation["signature"],
        ),
        DmpCreated(
            identity=CARD,
            consent=True,
            information_version="2026-01",
            contact=NotificationContact(
                channel=ContactChannel.EMAIL, address="jeanne.bernard@example.org"
            ),
            authorised_professionals=(PHARMACIST,),
        ),
    ]
    rotation: list[ActionPayload] = [
        IdentityToQualify.of(CARD),
        ConsentRecorded(ins=JEANNE, information_version="2026-01"),
        ContactSet(
            ins=JEANNE,
            contact=NotificationContact(channel=ContactChannel.SMS, address="0612345678"),
        ),
        TreatingDoctorSet(ins=JEANNE, id_nat="810100457828"),
        CardReadRefused(reason=RefusedCard.VITALE1),
    ]
    while len(actions) < count:
        actions.append(rotation[len(actions) % len(rotation)])
    return actions


def _queue(path: Path, key: Ed25519PrivateKey, central_key: bytes) -> ActionQueue:
    return ActionQueue(
        open_engine(path), kiosk_id=KIOSK_ID, signing_key=key, central_key=central_key
    )


def _floor_store(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS t (seq INTEGER PRIMARY KEY, blob BLOB, sig BLOB)")
    return conn


def enqueue_against_floor(
    work: Path, key: Ed25519PrivateKey, central_key: bytes, count: int, rounds: int = 4
) -> tuple[float, float, float, int]:
    """(enqueue/s, floor/s, sealed floor/s, envelope bytes), in alternating rounds.

    The sealed floor is the floor plus the same envelope work as enqueue (payload JSON, HPKE
    seal with the header as AAD, canonical encoding, hash), all of it in line. Enqueue beats
    it by preparing each seal's costly half during the previous commit's flush
    (kiosk/sync/sealahead.py); without that, the two run at the same speed.
    """
    queue = _queue(work / "enqueue.db", key, central_key)
    floor = _floor_store(work / "floor.db")
    sealed_floor = _floor_store(work / "sealed-floor.db")
    actions = _payloads(count)
    per_round = count // rounds
    enqueue_s = floor_s = sealed_s = 0.0
    size = 0
    done = 0
    for _ in range(rounds):
        batch = actions[done : done + per_round]
        start = time.perf_counter()
        for payload in batch:
            queue.enqueue(payload, session_id=SESSION)
        enqueue_s += time.perf_counter() - start
        if not size:
            size = len(queue.pending(limit=1)[0].envelope)
        blob = os.urandom(size)
        start = time.perf_counter()
        for _ in range(per_round):
            signature = sign(key, blob)
            floor.execute("BEGIN IMMEDIATE")
            floor.execute("INSERT INTO t (blob, sig) VALUES (?, ?)", (blob, signature))
            floor.execute("COMMIT")
        floor_s += time.perf_counter() - start
        start = time.perf_counter()
        for payload in batch:
            data = _envelope(central_key, payload)
            signature = sign(key, data)
            sealed_floor.execute("BEGIN IMMEDIATE")
            sealed_floor.execute("INSERT INTO t (blob, sig) VALUES (?, ?)", (data, signature))
            sealed_floor.execute("COMMIT")
        sealed_s += time.perf_counter() - start
        done += per_round
    queue.close()
    floor.close()
    sealed_floor.close()
    return done / enqueue_s, done / floor_s, done / sealed_s, size


def _envelope(central_key: bytes, payload: ActionPayload) -> bytes:
    """An envelope's bytes as enqueue builds them, outside any queue."""
    plaintext = encode_payload(payload)
    header = ActionEnvelope(
        action_id=str(uuid7()),
        kiosk_id=KIOSK_ID,
        seq=1,
        prev_hash=GENESIS_HASH,
        created_at=dt.datetime.now(dt.UTC).isoformat(timespec="microseconds"),
        action_type=payload.action_type,
        session_id=SESSION,
        enc=b"",
        ciphertext=b"",
    )
    enc, ciphertext = seal(central_key, plaintext, header=header.header_bytes())
    data = dataclasses.replace(header, enc=enc, ciphertext=ciphertext).encode()
    envelope_hash(data)
    return data


def _register_kiosk(url: str, home: Path, key: Ed25519PrivateKey) -> None:
    """The bench kiosk in the service's registry (enrolment itself is not what we measure),
    on a fresh database: the audit head kept beside the key is the last database's, and the
    sealer would stop at it (it did, unseen, in the drain to PostgreSQL before issue 18)."""
    (home / "audit.head").unlink(missing_ok=True)
    upgrade(url)
    state = build_state(Settings(db=url, home=home))
    with state.unit_of_work() as db:
        db.add(
            Kiosk(
                id=KIOSK_ID,
                site="Bench",
                public_key=public_bytes(key).hex(),
                status="active",
                enrolled_at=dt.datetime.now(dt.UTC),
                last_seq=0,
                last_hash=GENESIS_HASH,
            )
        )
    state.engine.dispose()


def _serve(url: str, home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = 19000 + os.getpid() % 1000
    process = subprocess.Popen(  # noqa: S603 - our own command
        [
            sys.executable,
            "-m",
            "central",
            "serve",
            "--db",
            url,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env={**os.environ, "CENTRAL_HOME": str(home)},
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if requests.get(f"{base}/health", timeout=1).ok:
                return process, base
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the service did not start")


def _check_drained(queue: ActionQueue, count: int) -> None:
    status = queue.status()
    if status.pending or status.acknowledged != count or status.rejected:
        raise RuntimeError(f"backlog not drained cleanly: {status}")


def drain(url: str, home: Path, backlog: Path, key: Ed25519PrivateKey, count: int) -> float:
    """Seconds for the sync client to drain a copy of the backlog to `central serve` at url."""
    _register_kiosk(url, home, key)
    copy = backlog.with_name(f"drain-{len(list(backlog.parent.glob('drain-*')))}.db")
    shutil.copyfile(backlog, copy)
    queue = _queue(copy, key, b"")
    process, base = _serve(url, home)
    try:
        transport = CentralClient(base, timeout_s=60, signer=RequestSigner(KIOSK_ID, key))
        start = time.perf_counter()
        SyncClient(queue, transport, KIOSK_ID, batch_size=BATCH).sync_once()
        seconds = time.perf_counter() - start
    finally:
        process.terminate()
        process.wait(30)
    _check_drained(queue, count)
    queue.close()
    return seconds


def _batches(rows: list[Any]) -> list[list[tuple[str, str]]]:
    """The backlog as the sync client sends it: BATCH envelopes a request, in base64."""
    return [
        [
            (base64.b64encode(r.envelope).decode(), base64.b64encode(r.signature).decode())
            for r in rows[i : i + BATCH]
        ]
        for i in range(0, len(rows), BATCH)
    ]


_FLOOR_TABLE = """
CREATE TABLE IF NOT EXISTS ingest_floor (
    id BIGSERIAL PRIMARY KEY,
    kiosk_id VARCHAR(64) NOT NULL,
    seq BIGINT NOT NULL,
    action_id VARCHAR(36) NOT NULL UNIQUE,
    envelope_hash VARCHAR(64) NOT NULL,
    payload BYTEA NOT NULL,
    UNIQUE (kiosk_id, seq)
)
"""


def _floor_batch(
    conn: psycopg.Connection[Any],
    items: list[tuple[str, str]],
    public_key: bytes,
    sealing_key: bytes,
) -> None:
    """What an ingest cannot avoid for one batch: one transaction, and per action base64,
    the signature verified, the envelope decoded and hashed, its payload opened (HPKE, the
    header as AAD) and one INSERT of a receipt-like row (unique per kiosk and sequence and
    per action id), one statement each; no ORM, no domain rule, no audit entry."""
    with conn.transaction():
        for envelope_b64, signature_b64 in items:
            data = base64.b64decode(envelope_b64, validate=True)
            verify(public_key, data, base64.b64decode(signature_b64, validate=True))
            envelope = ActionEnvelope.decode(data)
            plaintext = open_sealed(
                sealing_key, envelope.enc, envelope.ciphertext, header=envelope.header_bytes()
            )
            conn.execute(
                "INSERT INTO ingest_floor (kiosk_id, seq, action_id, envelope_hash, payload)"
                " VALUES (%s, %s, %s, %s, %s)",
                (
                    envelope.kiosk_id,
                    envelope.seq,
                    envelope.action_id,
                    envelope_hash(data),
                    plaintext,
                ),
            )


def ingest_against_floor(
    url: str, home: Path, backlog: Path, key: Ed25519PrivateKey, rounds: int = 5
) -> tuple[float, float | None]:
    """(ingest/s, floor/s): the service's ingest alone (in process, no HTTP: verify, open,
    apply, trace, receipt) and, on PostgreSQL, its floor (_floor_batch) on the same database
    and the same batches, in alternating rounds so that machine noise hits both alike."""
    _register_kiosk(url, home, key)
    queue = _queue(backlog, key, b"")
    batches = _batches(queue.pending(limit=1_000_000))
    queue.close()
    count = sum(len(items) for items in batches)
    state = build_state(Settings(db=url, home=home))
    sealing_key = state.keys.sealing_private
    floor = None
    if url.startswith("postgresql"):
        floor = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
        floor.execute(_FLOOR_TABLE)
        floor.commit()
    ingest_s = floor_s = 0.0
    per_round = -(-len(batches) // rounds)
    for done in range(0, len(batches), per_round):
        now_batches = batches[done : done + per_round]
        start = time.perf_counter()
        for items in now_batches:
            with state.unit_of_work() as db:
                results = ingest(
                    db,
                    kiosk_id=KIOSK_ID,
                    items=items,
                    sealing_key=sealing_key,
                    appliers=lambda: appliers(
                        state.professionals, state.dmp, state.register, state.bounds
                    ),
                    now=dt.datetime.now(dt.UTC),
                    bounds=state.bounds,
                ).results
            if any(r.outcome != "accepted" for r in results):
                raise RuntimeError(
                    f"ingest rejected: {[r for r in results if r.outcome != 'accepted'][:3]}"
                )
        ingest_s += time.perf_counter() - start
        if floor is not None:
            start = time.perf_counter()
            for items in now_batches:
                _floor_batch(floor, items, public_bytes(key), sealing_key)
            floor_s += time.perf_counter() - start
    state.engine.dispose()
    if floor is None:
        return count / ingest_s, None
    floor.close()
    return count / ingest_s, count / floor_s


def _postgres_database(name: str) -> str:
    test_url = (ROOT / ".postgres-url").read_text().strip()
    with psycopg.connect(
        test_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    ) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")  # our bench database, nothing else
        admin.execute(f"CREATE DATABASE {name}")
    return test_url.rsplit("/", 1)[0] + f"/{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 actions, SQLite only")
    args = parser.parse_args()
    backlog_size = 1_000 if args.quick else 10_000
    enqueue_count = 1_000 if args.quick else 4_000
    build_payload_types()  # as the kiosk does at start, off the counter's path
    with tempfile.TemporaryDirectory(dir=ROOT) as tmp:  # the project's disk, as the kiosk's
        work = Path(tmp)
        home = work / "central"
        home.mkdir()
        central_key = Settings(home=home).sealing_key()[1]
        key = Ed25519PrivateKey.generate()
        enqueue_per_s, floor_per_s, sealed_floor_per_s, size = enqueue_against_floor(
            work, key, central_key, enqueue_count
        )
        backlog = work / "backlog.db"
        queue = _queue(backlog, key, central_key)
        for payload in _payloads(backlog_size):
            queue.enqueue(payload, session_id=SESSION)
        queue.close()
        result: dict[str, Any] = {
            "bench": "queue",
            "quick": args.quick,
            "enqueue_per_s": round(enqueue_per_s),
            "floor_per_s": round(floor_per_s),
            "ratio": round(enqueue_per_s / floor_per_s, 2),
            "sealed_floor_per_s": round(sealed_floor_per_s),
            "ratio_to_sealed_floor": round(enqueue_per_s / sealed_floor_per_s, 2),
            "envelope_bytes": size,
            "backlog": backlog_size,
            "drain_sqlite_s": round(
                drain(f"sqlite:///{work / 'central.db'}", home, backlog, key, backlog_size), 2
            ),
        }
        if args.quick:
            ingest_url = f"sqlite:///{work / 'ingest.db'}"
            result["ingest_db"] = "sqlite"
        else:
            result["drain_postgresql_s"] = round(
                drain(_postgres_database("dmp_bench_queue"), home, backlog, key, backlog_size), 2
            )
            ingest_url = _postgres_database("dmp_bench_ingest")
            result["ingest_db"] = "postgresql"
        ingest_per_s, ingest_floor_per_s = ingest_against_floor(ingest_url, home, backlog, key)
        result["ingest_per_s"] = round(ingest_per_s)
        if ingest_floor_per_s is not None:
            result["ingest_floor_per_s"] = round(ingest_floor_per_s)
            result["ingest_ratio"] = round(ingest_per_s / ingest_floor_per_s, 2)
    result["machine"] = (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
