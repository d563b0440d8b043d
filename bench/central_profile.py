"""Where a status check and a summary spend their time, measured in one process (issue 18).

The service's ASGI app is called directly (its middleware, routing, thread pool and database
as served, without the HTTP server and the load generator), one request after another, on a
small PostgreSQL database (`dmp_profile`, BENCH_DMPS records, 2,000 by default) loaded as
bench/central.py loads its own. Per request, for each of `status` and `summary`:

- `wall_us`: elapsed time, a single client (the service's CPU plus its waits on PostgreSQL);
- `cpu_us`: this process's CPU (the service's share of the two cores);
- `pg_cpu_us`: the CPU of the PostgreSQL backend that served the requests (/proc);
- `statements`: SQL statements through SQLAlchemy (a `before_cursor_execute` listener);
- `round_trips`: messages sent to PostgreSQL (`sendto` on its socket, counted by strace when
  PROFILE_STRACE=1: BEGIN, pings and COMMIT are no statement of SQLAlchemy's).

With PROFILE_CPROFILE=status|summary, a cProfile of that request's loop is printed instead of
the JSON line (the hot functions, by own and cumulative time). Every request is signed as the
kiosks sign them, and the service verifies them as it does for the kiosks.
Run: `.venv/bin/python bench/central_profile.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import asyncio
import cProfile
import importlib.util
import io
import json
import os
import pstats
import random
import subprocess
import tempfile
import time
from typing import Any

import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import Request
from sqlalchemy import event

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Trials of changes in others' modules, measured here before they are asked for.
PATCH = os.environ.get("PROFILE_PATCH", "")
if "get_state_async" in PATCH:  # no thread-pool hop for the wiring's dependency
    import central.deps

    _sync_get_state = central.deps.get_state

    async def _get_state(request: Request) -> Any:
        return _sync_get_state(request)

    central.deps.get_state = _get_state  # type: ignore[assignment]

from bench.handsign import signature_headers  # noqa: E402
from central.app import create_app  # noqa: E402
from central.config import Settings  # noqa: E402
from central.state import build_state  # noqa: E402
from tests.support.central import fixture_professional  # noqa: E402

os.environ.setdefault("BENCH_DMPS", "2000")
_spec = importlib.util.spec_from_file_location(
    "bench_central", Path(__file__).with_name("central.py")
)
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

REQUESTS = int(os.environ.get("PROFILE_REQUESTS", "2000"))
AUTHORITY = "127.0.0.1:18023"
KIOSK_ID: str = bench.KIOSK_ID
KIOSK_KEY: Ed25519PrivateKey = bench.KIOSK_KEY


def _database() -> str:
    test_url = (ROOT / ".postgres-url").read_text().strip()
    with psycopg.connect(
        test_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
    ) as admin:
        admin.execute("DROP DATABASE IF EXISTS dmp_profile")
        admin.execute("CREATE DATABASE dmp_profile")
    return test_url.rsplit("/", 1)[0] + "/dmp_profile"


def signed(method: str, target: str, body: bytes, token: str | None) -> list[tuple[bytes, bytes]]:
    """The headers of a request signed as the kiosks sign them (RFC 9421)."""
    headers = {
        "host": AUTHORITY,
        "content-type": "application/json",
        "content-length": str(len(body)),
        **signature_headers(method, AUTHORITY, target, body, key=KIOSK_KEY, keyid=KIOSK_ID),
    }
    if token:
        headers["authorization"] = f"Bearer {token}"
    return [(k.encode(), v.encode()) for k, v in headers.items()]


async def call(
    app: Any, method: str, target: str, body: bytes, token: str | None
) -> tuple[int, bytes]:
    """One request through the ASGI app; its status and body."""
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": signed(method, target, body, token),
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 18023),
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


def _backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _strace() -> tuple[subprocess.Popen[bytes], Path]:
    """strace on this process's threads, counting what they send (to PostgreSQL only: the
    ASGI calls here involve no other socket)."""
    out = Path(tempfile.mkdtemp()) / "strace"
    tracer = subprocess.Popen(
        [
            "strace",
            "-f",
            "-qq",
            "-e",
            "trace=sendto,sendmsg",
            "-s",
            "80",
            "-o",
            str(out),
            "-p",
            str(os.getpid()),
        ]
    )
    time.sleep(1.0)  # attached
    return tracer, out


def _sends(tracer: subprocess.Popen[bytes], out: Path) -> int:
    tracer.terminate()
    tracer.wait()
    if os.environ.get("PROFILE_STRACE") == "show":
        print(out.read_text()[-6000:])
    # The event loop's wake-ups are one-byte writes of a NUL to its own socket pair.
    return sum(
        1
        for line in out.read_text().splitlines()
        if (" sendto(" in line or " sendmsg(" in line) and '"\\0", 1,' not in line
    )


def _trials() -> None:
    if "audit_core" in PATCH:  # the audit INSERT on the connection, not the ORM's bulk path
        import central.audit.trail as trail
        import central.dmp.access as access

        def trace(db: Any, actor: Any, action: Any, **kw: Any) -> None:
            kw.setdefault("outcome", trail.AuditOutcome.DONE)
            kw.setdefault("patient_ins", None)
            kw.setdefault("mode", trail.AccessMode.NORMAL)
            kw.setdefault("detail", "")
            values = trail._values(actor, action, kw.pop("outcome"), **kw)
            db.connection().execute(trail._insert(values))

        access.trace = trace  # type: ignore[assignment]


def main() -> None:
    _trials()
    url = _database()
    bench.load(url)
    dmps = int(os.environ["BENCH_DMPS"])
    with tempfile.TemporaryDirectory() as home:
        state = build_state(Settings(home=Path(home), db=url))
        app = create_app(state=state, run_worker=False)
        statements = 0

        @event.listens_for(state.engine, "before_cursor_execute")
        def _count(*_args: Any) -> None:
            nonlocal statements
            statements += 1

        attestation = fixture_professional(bench.PHARMACIST).attestation(kiosk_id=KIOSK_ID)
        loop = asyncio.new_event_loop()
        status, answer = loop.run_until_complete(
            call(app, "POST", "/v1/sessions", json.dumps(attestation).encode(), None)
        )
        assert status == 201, answer
        token = json.loads(answer)["token"]
        rng = random.Random(1)
        kinds = {
            "status": lambda: ("GET", f"/v1/dmp/{bench._ins(rng.randrange(dmps))}/status", b""),
            "summary": lambda: (
                "POST",
                f"/v1/dmp/{bench._ins(rng.randrange(dmps))}/open",
                b'{"mode": "normal"}',
            ),
        }

        async def run(kind: str, count: int) -> None:
            for _ in range(count):
                method, target, body = kinds[kind]()
                code, text = await call(app, method, target, body, token)
                assert code == 200, (code, text)

        with state.engine.connect() as conn:  # the pool's one connection, when sequential
            backend = int(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())
        figures: dict[str, Any] = {"bench": "central_profile", "dmps": dmps, "requests": REQUESTS}
        only = os.environ.get("PROFILE_CPROFILE")
        if only or os.environ.get("PROFILE_INLINE"):  # the pool's work here, for cProfile
            import anyio.to_thread

            async def inline(func: Any, *args: Any, **_kw: Any) -> Any:
                return func(*args)

            anyio.to_thread.run_sync = inline  # type: ignore[assignment]
        for kind in kinds:
            loop.run_until_complete(run(kind, 200))  # warm: caches, the pool, the first opens
            if only == kind:
                profile = cProfile.Profile(time.process_time)
                profile.enable()
                loop.run_until_complete(run(kind, REQUESTS))
                profile.disable()
                out = io.StringIO()
                stats = pstats.Stats(profile, stream=out)
                stats.sort_stats("tottime").print_stats(35)
                stats.sort_stats("cumulative").print_stats(60)
                print(out.getvalue())
                continue
            if os.environ.get("PROFILE_STRACE"):  # apart: strace slows what it watches
                tracer = _strace()
                loop.run_until_complete(run(kind, 100))
                figures[f"{kind}_round_trips"] = round(_sends(*tracer) / 100, 2)
            statements = 0
            pg0, cpu0, wall0 = _backend_cpu(backend), time.process_time(), time.perf_counter()
            loop.run_until_complete(run(kind, REQUESTS))
            wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
            pg = _backend_cpu(backend) - pg0
            figures[f"{kind}_wall_us"] = round(wall / REQUESTS * 1e6)
            figures[f"{kind}_cpu_us"] = round(cpu / REQUESTS * 1e6)
            figures[f"{kind}_pg_cpu_us"] = round(pg / REQUESTS * 1e6)
            figures[f"{kind}_statements"] = round(statements / REQUESTS, 2)
        figures["load_avg_1m"] = round(os.getloadavg()[0], 2)
        state.engine.dispose()
        if not only:
            print(json.dumps(figures))


if __name__ == "__main__":
    main()
