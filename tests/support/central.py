"""The central service under test: databases, a real HTTP server, cards, clocks."""

from __future__ import annotations

import base64
import concurrent.futures
import datetime as dt
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine, create_engine, delete, make_url, text

from central.app import create_app
from central.config import Settings
from central.db import make_engine
from central.migrate import upgrade
from central.models import AuditHead, Base, Kiosk
from central.state import AppState, build_state
from dmpcommon.attestation import attestation_digest
from dmpcommon.envelope import GENESIS_HASH
from kiosk.sync.transport import CentralClient, RequestSigner
from tests.support.mail import Mailbox, SmsGateway

ROOT = Path(__file__).resolve().parents[2]
PKI = ROOT / "fixtures" / "pki"


# A test whose point does not depend on the database runs on SQLite only (the suite's time).
sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
# A test of what only PostgreSQL does (partitions, a column's length enforced).
postgresql_only = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def postgres_url() -> str:
    """The test PostgreSQL (started by `make test` through scripts/postgres-start.sh); under
    pytest-xdist, a database of each worker's own beside it, made on first use."""
    url = os.environ.get("CENTRAL_TEST_PG_URL")
    if not url:
        path = ROOT / ".postgres-url"
        if not path.exists():
            raise RuntimeError("no test PostgreSQL: run scripts/postgres-start.sh (make test does)")
        url = path.read_text().strip()
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker:
        return url
    base = make_url(url)
    own = base.set(database=f"{base.database}_{worker}")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": own.database}
            )
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{own.database}"'))
    finally:
        admin.dispose()
    return own.render_as_string(hide_password=False)


def wipe(engine: Engine) -> None:
    """Empty every table and reset the audit chain's genesis."""
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))
        conn.execute(
            AuditHead.__table__.insert().values(id=1, seq=0, hash="0" * 64)  # type: ignore[attr-defined]
        )


class Clock:
    """A settable clock for the service (real time unless moved)."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def advance(self, **delta: float) -> None:
        self.offset += dt.timedelta(**delta)


@dataclass
class Server:
    """A running central service on loopback."""

    url: str
    state: AppState
    clock: Clock
    stop: Callable[[], None]

    def client(
        self, token: str | None = None, *, kiosk: KioskAuth | None | bool = True
    ) -> httpx.Client:
        """A client; its requests signed by the test kiosk (as a kiosk's are), by another
        kiosk, or (kiosk=False) not at all."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        auth = TEST_KIOSK if kiosk is True else (kiosk or None)
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, auth=auth)


class KioskAuth(httpx.Auth):
    """Signs an httpx request as the kiosk's own signer signs its requests (RFC 9421)."""

    def __init__(self, kiosk_id: str, key: Ed25519PrivateKey) -> None:
        self.kiosk_id = kiosk_id
        self.key = key

    def auth_flow(self, request: httpx.Request) -> Any:
        prepared = requests.Request(
            request.method, str(request.url), data=request.content, headers=dict(request.headers)
        ).prepare()
        RequestSigner(self.kiosk_id, self.key)(prepared)
        for name in ("Signature", "Signature-Input", "Content-Digest", "Date"):
            if name in prepared.headers:
                request.headers[name] = prepared.headers[name]
        yield request


# The kiosk every test server has enrolled, that signs the tests' operator requests.
TEST_KIOSK_ID = "kiosk-test"
TEST_KIOSK = KioskAuth(TEST_KIOSK_ID, Ed25519PrivateKey.from_private_bytes(b"\x07" * 32))


def signed_kiosk_client(server: Server) -> CentralClient:
    """The kiosk's own HTTP client, as the test kiosk."""
    return CentralClient(server.url, signer=RequestSigner(TEST_KIOSK_ID, TEST_KIOSK.key))


def enrol_test_kiosk(state: AppState, kiosk_id: str = TEST_KIOSK_ID) -> None:
    """Enrol the test kiosk directly in the database (the enrolment route has its tests)."""
    key = TEST_KIOSK.key.public_key().public_bytes_raw().hex()
    with state.sessions() as db, db.begin():
        if db.get(Kiosk, kiosk_id) is None:
            db.add(
                Kiosk(
                    id=kiosk_id,
                    site="Pharmacie d'essai",
                    public_key=key,
                    status="active",
                    enrolled_at=state.now(),
                    last_seq=0,
                    last_hash=GENESIS_HASH,
                )
            )


def start_server(settings: Settings) -> Server:
    """Build the app and serve it with uvicorn on a free loopback port, in a thread."""
    state = build_state(settings)
    enrol_test_kiosk(state)
    clock = Clock()
    state.clock = clock
    state.worker.clock = clock
    app = create_app(state=state)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        threading.Event().wait(0.01)

    def stop() -> None:
        server.should_exit = True
        thread.join(10)
        sock.close()
        state.engine.dispose()

    return Server(url=f"http://127.0.0.1:{port}", state=state, clock=clock, stop=stop)


_ENGINES: dict[str, tuple[str, Engine]] = {}


def database_for(backend: str, tmp_root: Path) -> tuple[str, Engine]:
    """The test database of a backend (made and migrated once per run): URL and engine."""
    if backend not in _ENGINES:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_root / 'central-test.db'}"
        else:
            url = postgres_url()
            engine = make_engine(url)
            with engine.begin() as conn:  # start from nothing: the migration is under test too
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            engine.dispose()
        upgrade(url)
        _ENGINES[backend] = (url, make_engine(url))
    return _ENGINES[backend]


# -- professional cards ----------------------------------------------------------------------


@dataclass(frozen=True)
class Professional:
    """A professional card's key and certificate (issued by the test CA or another)."""

    id_nat: str
    key: ec.EllipticCurvePrivateKey
    certificate_der: bytes

    def attestation(
        self,
        *,
        kiosk_id: str = "kiosk-test",
        session_id: str | None = None,
        issued_at: dt.datetime | None = None,
    ) -> dict[str, str]:
        session_id = session_id or uuid.uuid4().hex
        when = (issued_at or dt.datetime.now(dt.UTC)).isoformat()
        digest = attestation_digest(kiosk_id=kiosk_id, session_id=session_id, issued_at=when)
        signature = self.key.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
        return {
            "kiosk_id": kiosk_id,
            "session_id": session_id,
            "issued_at": when,
            "certificate": base64.b64encode(self.certificate_der).decode(),
            "signature": base64.b64encode(signature).decode(),
        }


def _test_ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = serialization.load_pem_private_key((PKI / "ca-key.pem").read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key, x509.load_pem_x509_certificate((PKI / "ca.pem").read_bytes())


def fixture_professional(id_nat: str) -> Professional:
    """A fixture card's key and certificate, as `fixtures/pki/` holds them."""
    key = serialization.load_pem_private_key((PKI / "keys" / f"{id_nat}.pem").read_bytes(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return Professional(id_nat, key, (PKI / "certs" / f"{id_nat}.der").read_bytes())


def make_professional(
    *,
    id_nat: str,
    card_type: str = "CPS",
    profession: str | None = "10",
    structure_id: str = "220078901",
    nom: str = "TEST",
    prenom: str = "PRO",
    ca: tuple[ec.EllipticCurvePrivateKey, x509.Certificate] | None = None,
    valid: tuple[dt.datetime, dt.datetime] | None = None,
) -> Professional:
    """A card certificate made now (valid a year unless told), for roles the fixture cards
    do not cover."""
    ca_key, ca_cert = ca or _test_ca()
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"Structure {structure_id}"),
            x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, structure_id),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, card_type),
            x509.NameAttribute(NameOID.TITLE, profession or "CPE"),
            x509.NameAttribute(NameOID.SURNAME, nom),
            x509.NameAttribute(NameOID.GIVEN_NAME, prenom),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, id_nat),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{prenom} {nom}"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid[0] if valid else now - dt.timedelta(days=1))
        .not_valid_after(valid[1] if valid else now + dt.timedelta(days=365))
        .sign(ca_key, hashes.SHA256())
    )
    return Professional(id_nat, key, cert.public_bytes(serialization.Encoding.DER))


def other_ca() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A CA nobody trusts."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "AC pirate")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, cert


def login(server: Server, pro: Professional) -> str:
    """Open an operator session; return its token."""
    with server.client() as client:
        response = client.post("/v1/sessions", json=pro.attestation())
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def run_sql(engine: Engine, sql: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def enrollment_token(server: Server, site: str = "Pharmacie du Port, Lorient") -> str:
    """A fresh one-time enrolment token, as `central enroll-token` issues it."""
    from central.sync.service import issue_token

    with server.state.sessions() as db, db.begin():
        return issue_token(
            db, key=server.state.keys.secret, site=site, hours=1, now=server.state.now()
        )


def post_all_at_once(
    server: Server, path: str, bodies: list[dict[str, Any]]
) -> list[httpx.Response]:
    """POST each body from its own thread, all released at the same moment."""
    barrier = threading.Barrier(len(bodies))

    def send(body: dict[str, Any]) -> httpx.Response:
        barrier.wait()
        with server.client() as client:
            return client.post(path, json=body)

    with concurrent.futures.ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(send, bodies))


@contextmanager
def own_service(root: Path, identities: Path) -> Iterator[tuple[Server, Mailbox, SmsGateway]]:
    """A service on a SQLite file of its own under `root`, with its mailbox and SMS gateway,
    for a module's tests (the per-test fixtures wipe the shared database between tests)."""
    url = f"sqlite:///{root / 'central.db'}"
    upgrade(url)
    mailbox, sms = Mailbox(), SmsGateway()
    mailbox.controller.start()
    sms.start()
    server = start_server(
        Settings(
            db=url,
            identities=identities,
            home=root,
            portal_url="http://portail.test/patient",
            smtp_url=f"smtp://127.0.0.1:{mailbox.port}",
            sms_url=f"http://127.0.0.1:{sms.port}/sms",
        )
    )
    try:
        yield server, mailbox, sms
    finally:
        server.stop()
        sms.stop()
        mailbox.controller.stop()
