"""DMP queries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.dmp.models import Dmp, Document
from central.errors import NotFound

__all__ = ["current_documents", "get_dmp"]


def get_dmp(db: Session, ins: str) -> Dmp:
    """The DMP, or NotFound."""
    dmp = db.get(Dmp, ins)
    if dmp is None:
        raise NotFound("no DMP for this INS", code="no_dmp")
    return dmp


def current_documents(db: Session, ins: str) -> list[Document]:
    """Documents not replaced by a newer version."""
    return list(
        db.scalars(select(Document).where(Document.dmp_ins == ins, Document.replaced_by.is_(None)))
    )
