"""The DMP: one per qualified INS, its professionals, its documents."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from central.db import Base, UtcDateTime

__all__ = [
    "CareHistoryRequest",
    "CareLine",
    "ContactChange",
    "Dmp",
    "DmpProfessional",
    "Document",
    "DocumentFile",
    "FirstAccess",
    "PatientAccess",
]


class Dmp(Base):
    """A patient's record: status, consent, emergency choices, contact, treating doctor."""

    __tablename__ = "dmps"

    ins: Mapped[str] = mapped_column(String(15), primary_key=True)
    oid: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(12))  # VALIDE | FERME
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(32))
    nom: Mapped[str] = mapped_column(String(120))
    prenom: Mapped[str] = mapped_column(String(120))
    birth_date: Mapped[str] = mapped_column(String(10))
    # Consent: who gave it, after which information text.
    consent_by: Mapped[str] = mapped_column(String(16))  # self | representative
    consent_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    information_version: Mapped[str] = mapped_column(String(32))
    representative_nom: Mapped[str | None] = mapped_column(String(120))
    representative_prenom: Mapped[str | None] = mapped_column(String(120))
    representative_birth_date: Mapped[str | None] = mapped_column(String(10))
    # A parent logs in as themselves and reaches the records of the children they represent.
    representative_nir: Mapped[str | None] = mapped_column(String(15), index=True)
    # Emergency choices: each on unless the patient said no.
    etreat: Mapped[bool] = mapped_column(Boolean)
    btg: Mapped[bool] = mapped_column(Boolean)
    masked_in_emergency: Mapped[bool] = mapped_column(Boolean)
    notify_channel: Mapped[str | None] = mapped_column(String(8))  # email | sms
    notify_address: Mapped[str | None] = mapped_column(String(254))
    notify_new_document: Mapped[bool] = mapped_column(Boolean, default=True)
    notify_first_access: Mapped[bool] = mapped_column(Boolean, default=True)
    notify_emergency: Mapped[bool] = mapped_column(Boolean, default=True)
    treating_doctor: Mapped[str | None] = mapped_column(String(32))  # id_nat ("8" + RPPS)
    # A child's record became their own at 18: the parent's access and contact ended then.
    came_of_age_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class DmpProfessional(Base):
    """A professional the patient authorised, or blocked."""

    __tablename__ = "dmp_professionals"
    __table_args__ = (UniqueConstraint("dmp_ins", "id_nat"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    # Part of the key the ORM updates by: on PostgreSQL the row is in its patient's partition.
    dmp_ins: Mapped[str] = mapped_column(
        ForeignKey("dmps.ins", ondelete="CASCADE"), primary_key=True
    )
    id_nat: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(12))  # AUTORISE | BLOQUE
    changed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    changed_by: Mapped[str] = mapped_column(String(40))


class Document(Base):
    """A document; a replacement points at what it replaces, which stays as history."""

    __tablename__ = "documents"
    __table_args__ = (Index("ix_documents_dmp_current", "dmp_ins", "replaced_by", "category"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    dmp_ins: Mapped[str] = mapped_column(  # in the key: found in its patient's partition
        ForeignKey("dmps.ins", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(32))
    loinc: Mapped[str | None] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    # The file: its bytes in document_files, found by (dmp_ins, sha256) and checked on read.
    mime_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    format_code: Mapped[str] = mapped_column(String(120))
    filename: Mapped[str | None] = mapped_column(String(200))
    author_id: Mapped[str] = mapped_column(String(40))
    author_name: Mapped[str] = mapped_column(String(200))
    author_role: Mapped[str] = mapped_column(String(32))
    document_date: Mapped[dt.date] = mapped_column()
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    masked_to_professionals: Mapped[bool] = mapped_column(Boolean, default=False)
    invisible_to_representatives: Mapped[bool] = mapped_column(Boolean, default=False)
    replaces: Mapped[str | None] = mapped_column(ForeignKey("documents.id"))
    replaced_by: Mapped[str | None] = mapped_column(String(36))


class DocumentFile(Base):
    """A document's bytes, stored once per record and content (a new version with the same
    bytes, or the same report deposited twice, shares them). Kept in PostgreSQL: one store to
    back up, in the same transaction as the document that points at it."""

    __tablename__ = "document_files"

    dmp_ins: Mapped[str] = mapped_column(
        ForeignKey("dmps.ins", ondelete="CASCADE"), primary_key=True
    )
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class CareLine(Base):
    """One line of reimbursed care from the health insurance's feed (its own identifier makes
    a resend harmless)."""

    __tablename__ = "care_lines"
    __table_args__ = (Index("ix_care_lines_dmp_date", "dmp_ins", "care_date"),)

    dmp_ins: Mapped[str] = mapped_column(
        ForeignKey("dmps.ins", ondelete="CASCADE"), primary_key=True
    )
    line_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    care_date: Mapped[dt.date] = mapped_column()
    nature: Mapped[str] = mapped_column(String(32))
    code_system: Mapped[str] = mapped_column(String(8))  # CIP13 | NGAP | CCAM | NABM
    code: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    executant: Mapped[str] = mapped_column(String(200))
    received_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class CareHistoryRequest(Base):
    """A new record awaiting its last 24 months from the health insurance's feed."""

    __tablename__ = "care_history_requests"

    dmp_ins: Mapped[str] = mapped_column(
        ForeignKey("dmps.ins", ondelete="CASCADE"), primary_key=True
    )
    since: Mapped[dt.date] = mapped_column()
    requested_at: Mapped[dt.datetime] = mapped_column(UtcDateTime(), index=True)
    fulfilled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class FirstAccess(Base):
    """The first time a professional opened this DMP (the patient is told once)."""

    __tablename__ = "first_accesses"
    __table_args__ = (UniqueConstraint("dmp_ins", "id_nat"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    dmp_ins: Mapped[str] = mapped_column(
        ForeignKey("dmps.ins", ondelete="CASCADE"), primary_key=True
    )
    id_nat: Mapped[str] = mapped_column(String(32))
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime())


class PatientAccess(Base):
    """The patient's online access: identifier and provisional activation code."""

    __tablename__ = "patient_accesses"

    dmp_ins: Mapped[str] = mapped_column(
        ForeignKey("dmps.ins", ondelete="CASCADE"), primary_key=True
    )
    identifier: Mapped[str] = mapped_column(String(16), unique=True)
    activation_hash: Mapped[str | None] = mapped_column(String(64))
    activation_expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    activation_tries: Mapped[int] = mapped_column(default=0)
    activated_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())


class ContactChange(Base):
    """A new contact the patient asked for in the portal, waiting for the code sent there."""

    __tablename__ = "contact_changes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    dmp_ins: Mapped[str] = mapped_column(
        ForeignKey("dmps.ins", ondelete="CASCADE"), index=True, primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(8))  # email | sms
    address: Mapped[str] = mapped_column(String(254))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    tries: Mapped[int] = mapped_column(default=0)
    done_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime())
