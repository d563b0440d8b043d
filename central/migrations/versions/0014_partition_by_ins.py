"""the patient tables hash-partitioned by INS on PostgreSQL (central.partitioning)

Each table of a patient's record is made again as `PARTITION BY HASH (<its INS column>)` with
central.partitioning.PARTITIONS partitions, its rows copied, and its keys, indexes and foreign
keys put back. PostgreSQL asks every primary key and unique constraint of a partitioned table
to hold the partition key: the tables keyed by a number of their own are now keyed by
(INS, number), and a document's previous version is found by (INS, id). The audit entries
have no patient when they record a login or an administrator's act, so their table has no
primary key of its own; each partition keys its entries by id and numbers them by seq (one
chain per partition, central.audit).

SQLite keeps its plain tables: nothing to do there, either way.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 12:10:00
"""

from __future__ import annotations

from typing import NamedTuple

from alembic import op

from central.partitioning import PARTITIONED, PARTITIONS, partition_name, partition_of_clause

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


class _Table(NamedTuple):  # a NamedTuple: Alembic loads this module outside sys.modules
    name: str
    key_split: tuple[str, ...] | None  # the primary key once partitioned (None: per partition)
    key_whole: tuple[str, ...]  # the primary key before
    sequence: str | None = None  # the sequence its id is drawn from
    uniques: dict[str, tuple[str, ...]] = {}  # noqa: RUF012 (never changed)
    indexes: dict[str, str] = {}  # noqa: RUF012  # name -> "(columns) [WHERE ...]"
    to_dmps: bool = True  # its INS references dmps(ins), deleted with the record


_TABLES = (
    _Table("dmps", ("ins",), ("ins",), to_dmps=False,
           indexes={"ix_dmps_representative_nir": "(representative_nir)"}),
    _Table("dmp_professionals", ("dmp_ins", "id"), ("id",), "dmp_professionals_id_seq",
           uniques={"dmp_professionals_dmp_ins_id_nat_key": ("dmp_ins", "id_nat")}),
    _Table("documents", ("dmp_ins", "id"), ("id",),
           indexes={"ix_documents_dmp_current": "(dmp_ins, replaced_by, category)"}),
    _Table("document_files", ("dmp_ins", "sha256"), ("dmp_ins", "sha256")),
    _Table("care_lines", ("dmp_ins", "line_id"), ("dmp_ins", "line_id"),
           indexes={"ix_care_lines_dmp_date": "(dmp_ins, care_date)"}),
    _Table("care_history_requests", ("dmp_ins",), ("dmp_ins",),
           indexes={"ix_care_history_requests_requested_at": "(requested_at)"}),
    _Table("first_accesses", ("dmp_ins", "id"), ("id",), "first_accesses_id_seq",
           uniques={"first_accesses_dmp_ins_id_nat_key": ("dmp_ins", "id_nat")}),
    _Table("contact_changes", ("dmp_ins", "id"), ("id",), "contact_changes_id_seq",
           indexes={"ix_contact_changes_dmp_ins": "(dmp_ins)"}),
    _Table("patient_presences", ("ins", "id"), ("id",), "patient_presences_id_seq",
           to_dmps=False,
           indexes={"ix_patient_presences_session_ins": "(session_id, ins, at)"}),
    _Table("audit_entries", None, ("id",), "audit_entries_id_seq", to_dmps=False,
           indexes={"ix_audit_patient": "(patient_ins, id)",
                    "ix_audit_unsealed": "(id) WHERE seq IS NULL"}),
)  # fmt: skip

# Tables left whole whose rows belong to a record: their foreign keys are made again.
_OUTSIDE_TO_DMPS = ("one_time_codes", "patient_accesses", "patient_sessions")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _remake(split=True)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _remake(split=False)


def _remake(*, split: bool) -> None:
    """Make every table again, split by INS or whole, with the same rows, keys and indexes."""
    if [t.name for t in _TABLES] != list(PARTITIONED):
        raise RuntimeError("central.partitioning names other tables than this migration")
    for table in _TABLES:
        if table.sequence:  # kept through the old table's drop
            op.execute(f"ALTER SEQUENCE {table.sequence} OWNED BY NONE")
        op.execute(f"ALTER TABLE {table.name} RENAME TO {table.name}_before")
    for table in _TABLES:
        how = f" PARTITION BY HASH ({PARTITIONED[table.name]})" if split else ""
        op.execute(f"CREATE TABLE {table.name} (LIKE {table.name}_before INCLUDING DEFAULTS){how}")
        if split:
            for remainder in range(PARTITIONS):
                op.execute(partition_of_clause(table.name, remainder))
        op.execute(f"INSERT INTO {table.name} SELECT * FROM {table.name}_before")  # noqa: S608 (our names)
    for table in reversed(_TABLES):
        op.execute(f"DROP TABLE {table.name}_before CASCADE")  # and the keys that pointed at it
    for table in _TABLES:
        _keys(table, split=split)
    for name in _OUTSIDE_TO_DMPS:
        op.execute(
            f"ALTER TABLE {name} ADD CONSTRAINT {name}_dmp_ins_fkey FOREIGN KEY (dmp_ins)"
            " REFERENCES dmps (ins) ON DELETE CASCADE"
        )


def _keys(table: _Table, *, split: bool) -> None:
    name = table.name
    if table.sequence:
        op.execute(f"ALTER SEQUENCE {table.sequence} OWNED BY {name}.id")
    key = table.key_split if split else table.key_whole
    if key is not None:
        op.execute(f"ALTER TABLE {name} ADD CONSTRAINT {name}_pkey PRIMARY KEY ({', '.join(key)})")
    elif split:  # the audit: its id and its place in the partition's chain, per partition
        for remainder in range(PARTITIONS):
            part = partition_name(name, remainder)
            op.execute(f"ALTER TABLE {part} ADD CONSTRAINT {part}_pkey PRIMARY KEY (id)")
            op.execute(f"ALTER TABLE {part} ADD CONSTRAINT {part}_seq_key UNIQUE (seq)")
    if name == "audit_entries" and not split:
        op.execute("ALTER TABLE audit_entries ADD CONSTRAINT audit_entries_seq_key UNIQUE (seq)")
    for unique, columns in table.uniques.items():
        op.execute(f"ALTER TABLE {name} ADD CONSTRAINT {unique} UNIQUE ({', '.join(columns)})")
    for index, definition in table.indexes.items():
        op.execute(f"CREATE INDEX {index} ON {name} {definition}")
    if table.to_dmps:
        op.execute(
            f"ALTER TABLE {name} ADD CONSTRAINT {name}_dmp_ins_fkey FOREIGN KEY (dmp_ins)"
            " REFERENCES dmps (ins) ON DELETE CASCADE"
        )
    if name == "documents" and split:  # FHIR reads a document by its id alone
        op.execute("CREATE INDEX ix_documents_id ON documents (id)")
    if name == "documents":
        source, target = ("dmp_ins, replaces", "dmp_ins, id") if split else ("replaces", "id")
        op.execute(
            f"ALTER TABLE documents ADD CONSTRAINT documents_replaces_fkey FOREIGN KEY ({source})"
            f" REFERENCES documents ({target})"
        )
