"""Central service benchmark: status check and summary read under 16 concurrent clients,
beside the same service's health endpoint in the same run (issue 18's ratios).

Loads 100,000 DMPs and 500,000 documents into PostgreSQL (database `dmp_bench`, made by the
test role), serves the app with uvicorn (2 workers, this machine has 2 cores), and measures
from 16 client threads: throughput and latency at saturation (closed loop), and latency at a
fixed offered load (open loop, timed from the scheduled send). Baseline in the same run:
GET /health (no database) under the same load.

Every request is signed by an enrolled kiosk (RFC 9421), as the kiosks sign them. The ratios
are the targets (machines here differ by up to three times in speed): `status_to_health_ratio`
(status at saturation over health at saturation, at least 1/3) and `summary_to_health_ratio`
(at least 1/5). Issue 14's comparison with the tree before the trust checks (BENCH_BEFORE_REF,
a second service and two ingest runs of each tree) is no longer made: it took about a third
of the run, and its figures are in docs/PERFORMANCE.md; the ingest rate is bench/queue.py's
(`ingest_per_s`, beside its floor).
The FHIR doorway (issue 17) in the same run, beside the JSON API doing the same work: ITI-67
for one patient with 50 documents at the summary's offered load (and the JSON summary of that
patient at the same load), and ITI-65 deposits of a 200 KB PDF report at saturation (and the
same report through POST /v1/dmp/{ins}/documents).
Prints one JSON line. Needs `make postgres`.
Run: `.venv/bin/python bench/central.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/queue.py bears the name of the standard library's `queue`: keep this folder off the
# import path, or urllib3 and psycopg would import the benchmark.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import base64
import datetime as dt
import hashlib
import http.client
import io
import json
import os
import platform
import random
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from bench.handsign import signature_headers  # noqa: E402
from central.migrate import upgrade  # noqa: E402
from dmpcommon.envelope import GENESIS_HASH  # noqa: E402
from dmpcommon.nir import nir_key  # noqa: E402
from kiosk.sync.transport import RequestSigner  # noqa: E402
from tests.support.central import fixture_professional  # noqa: E402
from tests.support.documents import report_pdf  # noqa: E402
from tests.support.fhir import binary_entry, document_entry, provide_bundle  # noqa: E402

DMPS = int(os.environ.get("BENCH_DMPS", "100000"))
DOCS_PER_DMP = 5
CLIENTS = 16
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "4000"))
PHARMACIST = "899700218896"
# Offered load for the latency figures, fixed from the domain rather than from this machine:
# 20,000 pharmacies x ~30 DMP checks an hour at the counter ~= 170/s for the whole country.
STATUS_OFFERED_RPS = float(os.environ.get("BENCH_STATUS_RPS", "150"))
SUMMARY_OFFERED_RPS = float(os.environ.get("BENCH_SUMMARY_RPS", "100"))
HEALTH_OFFERED_RPS = 150.0
KIOSK_ID = "kiosk-bench"
KIOSK_KEY = Ed25519PrivateKey.from_private_bytes(b"\x42" * 32)  # a bench key, no secret
CATEGORIES = ["medications", "pathologies_allergies", "care_history", "reports", "exam_results"]
LOINC = {  # each category's default document type (central.dmp.loinc.DEFAULT_LOINC)
    "medications": "10160-0",
    "pathologies_allergies": "48765-2",
    "care_history": "34117-2",
    "reports": "11488-4",
    "exam_results": "30954-2",
}
# The FHIR figures: one patient with 50 documents (searched), deposits of a 200 KB PDF.
BUSY_DOCS = 50
BUSY_REQUESTS = int(os.environ.get("BENCH_BUSY_REQUESTS", "800"))  # at saturation
PROVIDE_REQUESTS = int(os.environ.get("BENCH_PROVIDE_REQUESTS", "320"))
PDF_BYTES = 200 * 1024
TEXT = b"x" * 200  # every loaded document's file: one row per record in document_files
TEXT_SHA = hashlib.sha256(TEXT).hexdigest()


def _ins(i: int) -> str:
    body = f"18001{75:02d}{i // 1000:03d}{i % 1000:03d}"
    return f"{body}{nir_key(body):02d}"


def _database_url() -> str:
    test_url = (ROOT / ".postgres-url").read_text().strip()
    admin = psycopg.connect(
        test_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    )
    admin.execute("DROP DATABASE IF EXISTS dmp_bench")
    admin.execute("CREATE DATABASE dmp_bench")
    admin.close()
    return test_url.rsplit("/", 1)[0] + "/dmp_bench"


def _copy(conn: psycopg.Connection, table: str, columns: list[str], rows: io.StringIO) -> None:
    rows.seek(0)
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        while chunk := rows.read(1 << 20):
            copy.write(chunk)


def _document_row(
    rng: random.Random, ins: str, k: int, category: str, now: str, *, masked: bool
) -> str:
    """A text document of the record, in COPY's text format (columns as _DOCUMENT_COLUMNS)."""
    date = dt.date.today() - dt.timedelta(days=rng.randrange(1, 1500))
    return (
        f"{uuid.UUID(int=rng.getrandbits(128))}\t{ins}\t{category}\t{LOINC[category]}\t"
        f"Document {k}\ttext/plain\t{len(TEXT)}\t{TEXT_SHA}\turn:ihe:iti:xds-sd:text:2008\t\\N\t"
        f"bench\tDr BENCH\tprofessionnel_sante\t{date.isoformat()}\t{now}\t"
        f"{'t' if masked else 'f'}\tf\t\\N\t\\N\n"
    )


_DOCUMENT_COLUMNS = [
    "id",
    "dmp_ins",
    "category",
    "loinc",
    "title",
    "mime_type",
    "size",
    "sha256",
    "format_code",
    "filename",
    "author_id",
    "author_name",
    "author_role",
    "document_date",
    "created_at",
    "masked_to_professionals",
    "invisible_to_representatives",
    "replaces",
    "replaced_by",
]


def load(url: str) -> float:
    """Fill the database; returns the seconds it took. Record number DMPS (one past the
    others) is the busy one: 50 documents, for the FHIR search."""
    start = time.perf_counter()
    upgrade(url)
    now = dt.datetime.now(dt.UTC).isoformat()
    rng = random.Random(42)
    dmps, pros, docs, files = io.StringIO(), io.StringIO(), io.StringIO(), io.StringIO()
    for i in range(DMPS + 1):
        ins = _ins(i)
        dmps.write(
            f"{ins}\t1.2.250.1.213.1.4.10\tVALIDE\t{now}\tbench\tNOM{i}\tPRENOM\t1980-01-01\t"
            f"self\t{now}\tv1\t\\N\t\\N\t\\N\t\\N\tt\tt\tt\t\\N\t\\N\tt\tt\tt\t\\N\n"
        )
        pros.write(f"{ins}\t{PHARMACIST}\tAUTORISE\t{now}\tbench\n")
        files.write(f"{ins}\t{TEXT_SHA}\t\\\\x{TEXT.hex()}\n")
        count = BUSY_DOCS if i == DMPS else DOCS_PER_DMP
        for k in range(count):
            category = CATEGORIES[k % DOCS_PER_DMP]
            masked = category == "exam_results" and (i % 10 == 0 or i == DMPS and k % 20 == 4)
            docs.write(_document_row(rng, ins, k, category, now, masked=masked))
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        _copy(
            conn,
            "dmps",
            [
                "ins",
                "oid",
                "status",
                "created_at",
                "created_by",
                "nom",
                "prenom",
                "birth_date",
                "consent_by",
                "consent_at",
                "information_version",
                "representative_nom",
                "representative_prenom",
                "representative_birth_date",
                "representative_nir",
                "etreat",
                "btg",
                "masked_in_emergency",
                "notify_channel",
                "notify_address",
                "notify_new_document",
                "notify_first_access",
                "notify_emergency",
                "treating_doctor",
            ],
            dmps,
        )
        _copy(
            conn,
            "dmp_professionals",
            ["dmp_ins", "id_nat", "status", "changed_at", "changed_by"],
            pros,
        )
        _copy(conn, "document_files", ["dmp_ins", "sha256", "data"], files)
        _copy(conn, "documents", _DOCUMENT_COLUMNS, docs)
        conn.execute(
            "INSERT INTO kiosks (id, site, public_key, status, enrolled_at, last_seq, last_hash)"
            " VALUES (%s, 'Bench', %s, 'active', now(), 0, %s)",
            (KIOSK_ID, KIOSK_KEY.public_key().public_bytes_raw().hex(), GENESIS_HASH),
        )
        conn.execute("ANALYZE")
    return time.perf_counter() - start


def serve(url: str, home: Path, tree: Path = ROOT) -> tuple[subprocess.Popen[bytes], str]:
    port = 18000 + os.getpid() % 1000
    env = {
        **os.environ,
        "CENTRAL_DB": url,
        "CENTRAL_HOME": str(home),
        "PYTHONPATH": str(tree),  # that tree's service, not the installed one
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "central.app:app_from_environment",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=tree,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the service did not start")


class LightClient:
    """A keep-alive HTTP/1.1 client on http.client: far less CPU per request than httpx,
    which matters when the load generator shares the 2 cores with the service."""

    def __init__(self, base: str, token: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.authority = f"{host}:{port}"
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def _signed(self, method: str, path: str, body: bytes) -> dict[str, str]:
        """RFC 9421 headers as the kiosk's signer writes them, built by hand: the library's
        per-request cost would be the load generator's, not the service's, on 2 shared cores.
        The service verifies them with its own library: a wrong one is a 401, not a figure."""
        return self.headers | signature_headers(
            method, self.authority, path, body, key=KIOSK_KEY, keyid=KIOSK_ID
        )

    def get(self, path: str) -> int:
        self.conn.request("GET", path, headers=self._signed("GET", path, b""))
        response = self.conn.getresponse()
        response.read()
        return response.status

    def post(self, path: str, body: dict[str, object]) -> int:
        return self.post_bytes(path, json.dumps(body).encode())

    def post_bytes(self, path: str, data: bytes) -> int:
        self.conn.request("POST", path, body=data, headers=self._signed("POST", path, data))
        response = self.conn.getresponse()
        response.read()
        return response.status

    def __enter__(self) -> LightClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.conn.close()


def measure(
    base: str,
    token: str,
    make: Callable[[LightClient, random.Random], int],
    offered_rps: float | None = None,
    *,
    requests_total: int = REQUESTS,
    expect: int = 200,
) -> tuple[list[float], float]:
    """`requests_total` requests over CLIENTS threads; latencies (ms) and requests per second.

    Closed loop when `offered_rps` is None: each client sends again as soon as it has its
    answer (saturation). Open loop otherwise: clients send on a schedule adding up to
    `offered_rps`, and latency counts from the scheduled time, so queueing is not hidden.
    """
    latencies: list[float] = []
    lock = threading.Lock()
    per_client = requests_total // CLIENTS
    interval = CLIENTS / offered_rps if offered_rps else 0.0

    def client(seed: int) -> None:
        rng = random.Random(seed)
        mine = []
        with LightClient(base, token) as http:
            for _ in range(5):
                make(http, rng)  # warm the connection
            start = time.perf_counter() + rng.random() * interval
            for k in range(per_client):
                scheduled = start + k * interval if interval else time.perf_counter()
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                status = make(http, rng)
                mine.append((time.perf_counter() - scheduled) * 1000)
                assert status == expect, status
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(s,)) for s in range(CLIENTS)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, len(latencies) / (time.perf_counter() - start)


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def _login(base: str) -> str:
    attestation = fixture_professional(PHARMACIST).attestation(kiosk_id=KIOSK_ID)
    answer = requests.post(
        f"{base}/v1/sessions", json=attestation, auth=RequestSigner(KIOSK_ID, KIOSK_KEY), timeout=30
    )
    answer.raise_for_status()
    return str(answer.json()["token"])


def _status(http: LightClient, rng: random.Random) -> int:
    return http.get(f"/v1/dmp/{_ins(rng.randrange(DMPS))}/status")


def _reports(count: int, way: str) -> list[tuple[str, bytes, bytes]]:
    """`count` different 200 KB PDF reports (no two alike, none like another way's: each is
    stored), each for a record of its own: its INS, an ITI-65 Bundle, and the JSON API's body
    for the same deposit."""
    reports = []
    for n in range(count):
        ins = _ins(n * 37 % DMPS)
        pdf = report_pdf(
            f"Compte rendu {way} {n}", ["Consultation de suivi.", f"Rapport {n}."], pad_to=PDF_BYTES
        )
        binary = binary_entry(pdf, "application/pdf")
        doc = document_entry(
            binary, ins=ins, title=f"Compte rendu {n}", care_date=dt.date.today().isoformat()
        )
        bundle = json.dumps(provide_bundle(ins, (doc, binary))).encode()
        body = {
            "category": "reports",
            "title": f"Compte rendu {n}",
            "loinc": "11488-4",
            "document_date": dt.date.today().isoformat(),
            "file": {"mime_type": "application/pdf", "data_base64": base64.b64encode(pdf).decode()},
        }
        reports.append((ins, bundle, json.dumps(body).encode()))
    return reports


def _depositing(
    reports: list[tuple[str, bytes, bytes]], fhir: bool
) -> Callable[[LightClient, random.Random], int]:
    """Each call deposits the next report (each report once), by ITI-65 or the JSON API."""
    order = iter(range(len(reports)))

    def deposit(http: LightClient, rng: random.Random) -> int:
        ins, bundle, body = reports[next(order)]
        if fhir:
            return http.post_bytes("/fhir", bundle)
        return http.post_bytes(f"/v1/dmp/{ins}/documents", body)

    return deposit


def main() -> None:
    url = _database_url()
    load_s = load(url)
    load_avg_start = os.getloadavg()[0]  # the machine is shared: what else ran, beside each run
    with tempfile.TemporaryDirectory() as home:
        process, base = serve(url, Path(home))
        try:
            token = _login(base)

            def health(http: LightClient, rng: random.Random) -> int:
                return http.get("/health")

            def summary(http: LightClient, rng: random.Random) -> int:
                return http.post(f"/v1/dmp/{_ins(rng.randrange(DMPS))}/open", {"mode": "normal"})

            busy = _ins(DMPS)

            def fhir_search(http: LightClient, rng: random.Random) -> int:
                return http.get(
                    "/fhir/DocumentReference?patient.identifier="
                    f"urn:oid:1.2.250.1.213.1.4.10%7C{busy}&status=current"
                )

            def busy_summary(http: LightClient, rng: random.Random) -> int:
                return http.post(f"/v1/dmp/{busy}/open", {"mode": "normal"})

            health_sat, health_rps = measure(base, token, health)
            status_sat, status_rps = measure(base, token, _status)
            summary_sat, summary_rps = measure(base, token, summary)
            # Latency at a fixed offered load (open loop): what a counter waits on a busy day,
            # not the queue of a saturated server (that is the *_saturated_* figures).
            health_ms, _ = measure(base, token, health, HEALTH_OFFERED_RPS)
            status_ms, _ = measure(base, token, _status, STATUS_OFFERED_RPS)
            summary_ms, _ = measure(base, token, summary, SUMMARY_OFFERED_RPS)
            # The FHIR doorway beside the JSON API doing the same: the busy record searched
            # (ITI-67) and opened, at the summary's offered load; then deposits of a 200 KB PDF,
            # each report once, by ITI-65 and by the JSON API, at saturation.
            fhir_search_ms, _ = measure(base, token, fhir_search, SUMMARY_OFFERED_RPS)
            busy_summary_ms, _ = measure(base, token, busy_summary, SUMMARY_OFFERED_RPS)
            _, fhir_search_rps = measure(base, token, fhir_search, requests_total=BUSY_REQUESTS)
            _, busy_summary_rps = measure(base, token, busy_summary, requests_total=BUSY_REQUESTS)
            deposits = PROVIDE_REQUESTS + 5 * CLIENTS  # and each client's warm-up
            _, provide_per_s = measure(
                base,
                token,
                _depositing(_reports(deposits, "ITI-65"), fhir=True),
                requests_total=PROVIDE_REQUESTS,
            )
            _, json_document_per_s = measure(
                base,
                token,
                _depositing(_reports(deposits, "JSON"), fhir=False),
                requests_total=PROVIDE_REQUESTS,
                expect=201,
            )
        finally:
            process.terminate()
            process.wait(30)
    print(
        json.dumps(
            {
                "bench": "central",
                "dmps": DMPS,
                "documents": DMPS * DOCS_PER_DMP,
                "load_s": round(load_s, 1),
                "clients": CLIENTS,
                "status_p50_ms": _p(status_ms, 0.5),
                "status_p95_ms": _p(status_ms, 0.95),
                "status_offered_rps": STATUS_OFFERED_RPS,
                "status_rps": round(status_rps),
                "status_saturated_p95_ms": _p(status_sat, 0.95),
                "summary_p50_ms": _p(summary_ms, 0.5),
                "summary_p95_ms": _p(summary_ms, 0.95),
                "summary_offered_rps": SUMMARY_OFFERED_RPS,
                "summary_rps": round(summary_rps),
                "summary_saturated_p95_ms": _p(summary_sat, 0.95),
                "busy_record_documents": BUSY_DOCS,
                "fhir_search_p50_ms": _p(fhir_search_ms, 0.5),
                "fhir_search_p95_ms": _p(fhir_search_ms, 0.95),
                "fhir_search_rps": round(fhir_search_rps),
                "busy_summary_p50_ms": _p(busy_summary_ms, 0.5),
                "busy_summary_p95_ms": _p(busy_summary_ms, 0.95),
                "busy_summary_rps": round(busy_summary_rps),
                "provide_pdf_bytes": PDF_BYTES,
                "provide_bundle_per_s": round(provide_per_s, 1),
                "json_document_per_s": round(json_document_per_s, 1),
                "health_p50_ms": _p(health_ms, 0.5),
                "health_p95_ms": _p(health_ms, 0.95),
                "health_rps": round(health_rps),
                "health_saturated_p95_ms": _p(health_sat, 0.95),
                "status_to_health_ratio": round(status_rps / health_rps, 3),
                "summary_to_health_ratio": round(summary_rps / health_rps, 3),
                "status_p95_over_health_p95": round(_p(status_ms, 0.95) / _p(health_ms, 0.95), 1),
                "load_avg_1m_start": round(load_avg_start, 2),
                "load_avg_1m_end": round(os.getloadavg()[0], 2),
                "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
                f"{platform.python_version()}",
            }
        )
    )


if __name__ == "__main__":
    main()
