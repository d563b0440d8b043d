"""The hot paths touch one patient's partition of each table, read from PostgreSQL's query
plans: a status check, a summary, a document added (and a new version of it), and the ingest
of one patient's queued action. Every statement such a request sends is captured as sent and
explained with its own parameters; a plan that scans two partitions of a table, or a table
split by INS without naming a partition, fails the test (central.partitioning)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from central.partitioning import PARTITIONED, PARTITIONS
from dmpcommon.actions import AuthorisationGranted
from tests.support.central import Professional, Server
from tests.support.dmp import CLAIRE, JEANNE, PHARMACIST, PHYSICIAN, add_doc, create, open_record
from tests.support.queues import batch, enrolled_queue, post_batch, queue_login

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)

_PART = re.compile(r"^(?P<table>.+)_p(?P<k>[0-9]+)$")
_EXPLAINED = ("SELECT", "UPDATE", "DELETE", "WITH", "INSERT")
_BACKGROUND = {"audit-sealer", "outbox"}  # they walk every partition by design, off the request


@contextmanager
def statements(server: Server) -> Iterator[list[tuple[str, Any]]]:
    """The statements requests send meanwhile, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def record(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool
    ) -> None:
        if threading.current_thread().name not in _BACKGROUND and not many:
            seen.append((statement, parameters))

    event.listen(server.state.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(server.state.engine, "before_cursor_execute", record)


def touched(server: Server, statement: str, parameters: Any) -> dict[str, set[str]]:
    """Which relations of the split tables the statement's plan reaches: table -> partitions
    (or the table's own name when the plan reads it unsplit)."""
    with server.state.engine.connect() as conn:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(f"EXPLAIN (FORMAT JSON) {statement}", parameters)
        plan = cursor.fetchone()[0]
    found: dict[str, set[str]] = {}

    def walk(node: dict[str, Any]) -> None:
        name = node.get("Relation Name")
        if name is not None and node.get("Node Type") != "ModifyTable":
            match = _PART.match(name)
            table = match["table"] if match else name
            if table in PARTITIONED:
                found.setdefault(table, set()).add(name)
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found


def assert_one_partition(server: Server, seen: list[tuple[str, Any]], what: str) -> int:
    """Every captured statement reaches at most one partition of each split table; returns how
    many statements reached one."""
    reaching = 0
    for statement, parameters in seen:
        if not statement.lstrip().upper().startswith(_EXPLAINED):
            continue
        for table, relations in touched(server, statement, parameters).items():
            assert len(relations) == 1 and table not in relations, (
                f"{what}: {sorted(relations)} for\n{statement}\n{parameters}"
            )
            reaching += 1
    return reaching


def test_the_tables_are_split_by_ins(server: Server) -> None:
    with server.state.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT parent.relname, count(*) FROM pg_inherits"
                " JOIN pg_class parent ON parent.oid = inhparent"
                " JOIN pg_class child ON child.oid = inhrelid"
                " WHERE parent.relkind = 'p' GROUP BY parent.relname"
            )
        ).all()
        keys = dict(
            conn.execute(
                text(
                    "SELECT c.relname, pg_get_partkeydef(c.oid) FROM pg_class c"
                    " WHERE c.relkind = 'p'"
                )
            ).all()
        )
    assert dict(rows) == {table: PARTITIONS for table in PARTITIONED}
    assert keys == {table: f"HASH ({column})" for table, column in PARTITIONED.items()}


def test_status_summary_and_documents_touch_one_partition(
    server: Server, tokens: dict[str, str]
) -> None:
    create(server, tokens["pharmacist"], authorised_professionals=[PHARMACIST, PHYSICIAN])
    create(server, tokens["pharmacist"], CLAIRE, authorised_professionals=[PHARMACIST])
    first = add_doc(server, tokens["physician"], JEANNE, "other", "Compte rendu")

    with statements(server) as seen:
        with server.client(tokens["pharmacist"]) as client:
            assert client.get(f"/v1/dmp/{JEANNE}/status").status_code == 200
    assert assert_one_partition(server, seen, "status") >= 1

    with statements(server) as seen:
        code, _summary = open_record(server, tokens["pharmacist"], JEANNE)
        assert code == 200
    assert assert_one_partition(server, seen, "summary") >= 3

    with statements(server) as seen:
        add_doc(server, tokens["physician"], JEANNE, "other", "Compte rendu", replaces=first["id"])
    assert assert_one_partition(server, seen, "document add") >= 3


def test_the_ingest_of_one_patients_action_touches_one_partition(
    server: Server, tokens: dict[str, str], pharmacist: Professional, tmp_path: Path
) -> None:
    create(server, tokens["pharmacist"])
    queue = enrolled_queue(server, tmp_path)
    queue_login(queue, pharmacist, "session-part")
    assert post_batch(server, batch(queue), queue)[0] == 200
    queue.enqueue(
        AuthorisationGranted(ins=JEANNE, id_nat=PHARMACIST, patient_agreement=True),
        session_id="session-part",
    )
    with statements(server) as seen:
        code, body = post_batch(server, batch(queue, [2]), queue)
    assert code == 200 and body["results"][0]["seq"] == 2, body
    assert assert_one_partition(server, seen, "ingest") >= 1


def test_a_plan_over_every_partition_is_caught(server: Server) -> None:
    """The check itself: a statement that reads all patients' documents is refused."""
    found = touched(server, "SELECT id FROM documents WHERE title = %(t)s", {"t": "x"})
    assert len(found["documents"]) == PARTITIONS
