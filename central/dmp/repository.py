"""DMP queries, and the documents' files (stored once per record and content, checked on
read)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central.dmp.files import CheckedFile, MimeType, sha256_hex
from central.dmp.models import Dmp, Document, DocumentFile
from central.errors import NotFound, ServiceError

__all__ = [
    "FileCorrupt",
    "current_documents",
    "document_of",
    "drop_file_if_unused",
    "get_dmp",
    "read_file",
    "store_file",
    "texts_of",
]


_log = logging.getLogger(__name__)


class FileCorrupt(ServiceError):
    """The bytes read back are not the ones stored: never served."""

    code = "file_corrupt"


def get_dmp(db: Session, ins: str) -> Dmp:
    """The DMP, or NotFound."""
    dmp = db.get(Dmp, ins)
    if dmp is None:
        raise NotFound("no DMP for this INS", code="no_dmp")
    return dmp


def document_of(
    db: Session, ins: str, document_id: str, *, for_update: bool = False
) -> Document | None:
    """One document of this record, found by the record and its id: on PostgreSQL a document
    is kept in its patient's partition, and a lookup by id alone would search them all."""
    query = select(Document).where(Document.dmp_ins == ins, Document.id == document_id)
    return db.scalar(query.with_for_update() if for_update else query)


def current_documents(db: Session, ins: str) -> list[Document]:
    """Documents not replaced by a newer version."""
    return list(
        db.scalars(select(Document).where(Document.dmp_ins == ins, Document.replaced_by.is_(None)))
    )


def store_file(db: Session, ins: str, checked: CheckedFile) -> None:
    """Keep the file's bytes for this record, once whatever the number of documents."""
    if db.get(DocumentFile, (ins, checked.sha256)) is not None:
        return
    try:
        with db.begin_nested():
            db.add(DocumentFile(dmp_ins=ins, sha256=checked.sha256, data=checked.data))
    except IntegrityError:
        pass  # the same bytes stored by a concurrent deposit


def drop_file_if_unused(db: Session, ins: str, sha256: str) -> None:
    """Forget a file no document of the record points at any more."""
    used = db.scalar(
        select(Document.id).where(Document.dmp_ins == ins, Document.sha256 == sha256).limit(1)
    )
    if used is None:
        row = db.get(DocumentFile, (ins, sha256))
        if row is not None:
            db.delete(row)


def _checked(row: DocumentFile | None, sha256: str) -> bytes:
    if row is None or sha256_hex(row.data) != sha256:
        raise FileCorrupt("a document's file does not match its hash")
    return row.data


def read_file(db: Session, doc: Document) -> bytes:
    """The document's bytes, their hash checked."""
    return _checked(db.get(DocumentFile, (doc.dmp_ins, doc.sha256)), doc.sha256)


def texts_of(db: Session, ins: str, docs: Iterable[Document]) -> dict[str, str]:
    """The texts of the text documents among `docs`, by hash, in one query."""
    wanted = {d.sha256 for d in docs if d.mime_type == MimeType.TEXT.value}
    if not wanted:
        return {}
    rows = {
        row.sha256: row
        for row in db.scalars(
            select(DocumentFile).where(DocumentFile.dmp_ins == ins, DocumentFile.sha256.in_(wanted))
        )
    }
    texts: dict[str, str] = {}
    for sha in wanted:
        try:
            texts[sha] = _checked(rows.get(sha), sha).decode("utf-8")
        except FileCorrupt:
            # The rest of the record is still served: this text shows as unreadable.
            _log.error("a text document's file does not match its hash: %s", sha)
    return texts
