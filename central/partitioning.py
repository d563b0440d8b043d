"""How the patient tables are split on PostgreSQL: by the patient's INS, the column a
distributed PostgreSQL (Citus) would distribute them by (docs/DEPLOY.md).

Each table that holds one patient's record data carries the INS and is hash-partitioned by it
into PARTITIONS tables named `<table>_p<k>` (PostgreSQL's own hash, k its remainder), so that a
request about one patient touches one partition of each table; tests/central/test_partitions.py
reads the hot paths' query plans to keep it so. SQLite keeps plain tables.

Kept apart, not partitioned by INS:
- the login lookups, found by what a patient holds before anyone knows the INS
  (`patient_accesses` by identifier, `patient_sessions` by token, `one_time_codes` by the
  hash of whom they were sent to);
- what exists before a record (`online_creations`) or belongs to no patient (kiosks, operator
  sessions, revoked cards, the outbox, the sync's receipts and nonces, throttling);
- the audit's heads and roots (central.audit), one row per chain.
"""

from __future__ import annotations

__all__ = ["PARTITIONED", "PARTITIONS", "partition_name", "partition_of_clause"]

PARTITIONS = 8

# table -> its INS column, in the order they are made (a table after what it references).
PARTITIONED: dict[str, str] = {
    "dmps": "ins",
    "dmp_professionals": "dmp_ins",
    "documents": "dmp_ins",
    "document_files": "dmp_ins",
    "care_lines": "dmp_ins",
    "care_history_requests": "dmp_ins",
    "first_accesses": "dmp_ins",
    "contact_changes": "dmp_ins",
    "patient_presences": "ins",
    "audit_entries": "patient_ins",
}


def partition_name(table: str, remainder: int) -> str:
    """The partition of `table` that holds the INS whose hash leaves `remainder`."""
    return f"{table}_p{remainder}"


def partition_of_clause(table: str, remainder: int) -> str:
    """The DDL that makes one partition of a table partitioned by hash."""
    return (
        f"CREATE TABLE {partition_name(table, remainder)} PARTITION OF {table}"
        f" FOR VALUES WITH (MODULUS {PARTITIONS}, REMAINDER {remainder})"
    )
