"""The kiosk's local queue on a real SQLite file."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dmpcommon.actions import (
    CardTraits,
    ConsentRecorded,
    DmpCreated,
    DmpOpened,
    NotificationContact,
    OperatorSessionClosed,
    decode_payload,
)
from dmpcommon.envelope import ActionEnvelope
from dmpcommon.sealing import open_sealed
from dmpcommon.signing import public_bytes
from dmpcommon.vocabulary import AccessMode, ContactChannel
from kiosk.sync.keys import load_or_create_device_key
from kiosk.sync.queue import ActionQueue, ChainProblem, open_engine
from tests.support.pcsc import run_kiosk
from tests.support.tamper import tamper

ROOT = Path(__file__).resolve().parents[2]
JEANNE = "279035121518989"
CLOSED = OperatorSessionClosed()


def _queue(home: Path, central_public: bytes) -> ActionQueue:
    return ActionQueue(
        open_engine(home / "queue.db"),
        kiosk_id="kiosk-lorient-1",
        signing_key=load_or_create_device_key(home / "device.key"),
        central_key=central_public,
    )


def _device_public(home: Path) -> bytes:
    return public_bytes(load_or_create_device_key(home / "device.key"))


def test_enqueue_chains_signs_and_seals(tmp_path: Path, central_keys: tuple[bytes, bytes]) -> None:
    private, public = central_keys
    queue = _queue(tmp_path, public)
    entries = [
        queue.enqueue(DmpOpened(ins=JEANNE, mode=AccessMode.NORMAL), session_id=f"s-{i}")
        for i in range(5)
    ]
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert queue.verify(_device_public(tmp_path)) is None
    rows = queue.pending()
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    envelope = ActionEnvelope.decode(rows[2].envelope)
    assert (envelope.seq, envelope.prev_hash) == (3, rows[1].hash)
    payload = open_sealed(
        private, envelope.enc, envelope.ciphertext, header=envelope.header_bytes()
    )
    assert decode_payload(envelope.action_type, payload) == DmpOpened(
        ins=JEANNE, mode=AccessMode.NORMAL
    )
    assert envelope.session_id == "s-2"
    assert oct((tmp_path / "device.key").stat().st_mode & 0o777) == "0o600"
    envelopes = [ActionEnvelope.decode(r.envelope) for r in rows]
    for envelope in envelopes:  # each payload opens, bound to its own header
        open_sealed(private, envelope.enc, envelope.ciphertext, header=envelope.header_bytes())
    assert len({e.enc for e in envelopes}) == 5  # a fresh ephemeral key per action
    helper = queue._seals._thread if queue._seals is not None else None
    assert helper is not None and helper.is_alive()  # seals prepared during the commits
    queue.close()
    assert not helper.is_alive()


def test_status_counts_and_rejections(tmp_path: Path, central_keys: tuple[bytes, bytes]) -> None:
    queue = _queue(tmp_path, central_keys[1])
    empty = queue.status().as_json()
    assert empty == {
        "pending": 0,
        "oldest_pending_age_s": None,
        "acknowledged": 0,
        "rejected": [],
        "last_ack_at": None,
    }
    for _ in range(3):
        queue.enqueue(CLOSED, session_id="s")
    queue.record_outcome(1, accepted=True)
    queue.record_outcome(2, accepted=False, reason="representative_required")
    status = queue.status()
    assert (status.pending, status.acknowledged) == (1, 2)
    assert status.rejected[0]["reason"] == "representative_required"
    assert status.oldest_pending_age_s is not None and status.last_ack_at is not None


def _tamper(home: Path, sql: str, *params: object) -> None:
    with sqlite3.connect(home / "queue.db") as conn:
        conn.execute(sql, params)


@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ("flip", ChainProblem(3, "bad signature")),
        ("delete", ChainProblem(3, "missing")),
        ("swap", ChainProblem(2, "moved")),
    ],
)
def test_tampering_is_named(
    tmp_path: Path, central_keys: tuple[bytes, bytes], how: str, expected: ChainProblem
) -> None:
    queue = _queue(tmp_path, central_keys[1])
    for _ in range(5):
        queue.enqueue(CLOSED, session_id="s")
    queue.close()
    tamper(tmp_path / "queue.db", how)
    assert _queue(tmp_path, central_keys[1]).verify(_device_public(tmp_path)) == expected


def test_no_personal_data_in_the_sqlite_files(
    tmp_path: Path, central_keys: tuple[bytes, bytes]
) -> None:
    queue = _queue(tmp_path, central_keys[1])
    secrets = ["D'ARGENT-LÉVÊQUE", "MARIE-HÉLÈNE", "285022A00412355", "jeanne@exemple.test"]
    traits = CardTraits(nom=secrets[0], prenom=secrets[1], birth_date="1985-02-03", nir=secrets[2])
    contact = NotificationContact(channel=ContactChannel.EMAIL, address=secrets[3])
    for _ in range(10):
        queue.enqueue(ConsentRecorded(identity=traits, information_version="v1"), session_id="s")
        created = DmpCreated(
            identity=traits, consent=True, information_version="v1", contact=contact
        )
        queue.enqueue(created, session_id="s")
    files = [p for p in tmp_path.iterdir() if p.name.startswith("queue.db")]
    assert any(p.name.endswith("-wal") for p in files)  # the WAL is checked too
    raw = b"".join(p.read_bytes() for p in files)
    for secret in secrets:
        for encoding in ("utf-8", "iso-8859-1", "utf-16-le"):
            assert secret.encode(encoding) not in raw, (secret, encoding)


def test_the_queue_and_the_key_are_private(
    tmp_path: Path, central_keys: tuple[bytes, bytes]
) -> None:
    """The database, its -wal and -shm files and the device key 0600 in a 0700 home,
    whatever the umask; a database left looser by an older version is tightened."""
    import stat

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    home = tmp_path / "home"
    previous = os.umask(0o002)
    try:
        queue = _queue(home, central_keys[1])
        queue.enqueue(CLOSED, session_id="s")
        files = sorted(p.name for p in home.iterdir())
        assert files == ["device.key", "queue.db", "queue.db-shm", "queue.db-wal"]
        assert mode(home) == 0o700
        assert {name: mode(home / name) for name in files} == dict.fromkeys(files, 0o600)
        queue.close()
        (home / "queue.db").chmod(0o644)
        open_engine(home / "queue.db").dispose()
        assert mode(home / "queue.db") == 0o600
    finally:
        os.umask(previous)


def test_every_returned_enqueue_survives_sigkill(
    tmp_path: Path, central_keys: tuple[bytes, bytes]
) -> None:
    """50 kills at random moments: what enqueue confirmed is there, the chain verifies."""
    rng = random.Random(20261125)
    confirmed = 0
    for _ in range(50):
        process = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tests/sync/enqueue_loop.py"),
                str(tmp_path),
                central_keys[1].hex(),
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.15))
        process.send_signal(signal.SIGKILL)
        printed = process.stdout.read().split()
        process.wait()
        process.stdout.close()
        if printed:
            confirmed = max(confirmed, int(printed[-1]))
        queue = _queue(tmp_path, central_keys[1])
        stored = [r.seq for r in queue.pending(limit=1_000_000)]
        assert stored == list(range(1, len(stored) + 1))
        assert len(stored) >= confirmed
        assert queue.verify(_device_public(tmp_path)) is None
        queue.close()
    assert confirmed > 50  # the loop really ran between kills


def test_queue_commands(tmp_path: Path, central_keys: tuple[bytes, bytes]) -> None:
    queue = _queue(tmp_path, central_keys[1])
    for _ in range(4):
        queue.enqueue(CLOSED, session_id="s", subject="J. B.")
    queue.record_outcome(1, accepted=False, reason="representative_required")
    queue.record_outcome(2, accepted=True)
    queue.close()
    status = json.loads(run_kiosk("queue", "status", "--json", home=tmp_path).stdout)
    assert status["pending"] == 2 and status["acknowledged"] == 2
    assert status["rejected"] == [
        {
            "seq": 1,
            "action_id": status["rejected"][0]["action_id"],
            "type": "operator_session_closed",
            "reason": "representative_required",
            "created_at": status["rejected"][0]["created_at"],
            "subject": "J. B.",  # kept to say for whom it was refused
        }
    ]
    # An accepted action forgets the patient's initials; a pending one keeps them.
    with sqlite3.connect(tmp_path / "queue.db") as db:
        subjects = dict(db.execute("SELECT seq, subject FROM actions").fetchall())
    assert subjects == {1: "J. B.", 2: None, 3: "J. B.", 4: "J. B."}
    ok = run_kiosk("queue", "verify", home=tmp_path)
    assert ok.returncode == 0 and "OK : 4 actions" in ok.stdout
    _tamper(tmp_path, "DELETE FROM actions WHERE seq=2")
    bad = run_kiosk("queue", "verify", home=tmp_path)
    assert bad.returncode == 1 and bad.stdout == ""
    assert bad.stderr.strip() == "kiosk : file d'attente : action n° 2 absente (supprimée ?)"


def test_verify_without_a_device_key_says_what_to_do(tmp_path: Path) -> None:
    result = run_kiosk("queue", "verify", home=tmp_path)
    assert result.returncode == 1 and "kiosk enroll" in result.stderr


def test_the_schema_head_the_queue_knows_is_alembics(tmp_path: Path) -> None:
    """open_engine skips Alembic (a third of the kiosk's start-up) when the file is at
    SCHEMA_HEAD: that constant must be the last migration."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from kiosk.sync.queue import _MIGRATIONS, SCHEMA_HEAD

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == SCHEMA_HEAD
    open_engine(tmp_path / "queue.db").dispose()  # made and migrated
    program = (
        "import sys; from pathlib import Path; from kiosk.sync.queue import open_engine; "
        f"open_engine(Path({str(tmp_path / 'queue.db')!r})).dispose(); "
        "print('alembic' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.stdout.strip() == "False", result.stderr
