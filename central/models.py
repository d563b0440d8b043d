"""Every table, imported once so that Alembic and the tests see the whole metadata."""

from __future__ import annotations

from central.audit.models import AuditEntry, AuditHead
from central.db import Base
from central.dmp.models import Dmp, DmpProfessional, Document, FirstAccess, PatientAccess
from central.identity.models import PatientPresence
from central.notify.models import OutboxMessage
from central.patient.models import OneTimeCode, PatientSession
from central.professionals.models import OperatorSession, RevokedCard
from central.sync.models import EnrollmentToken, Kiosk, Receipt

__all__ = [
    "AuditEntry",
    "AuditHead",
    "Base",
    "Dmp",
    "DmpProfessional",
    "Document",
    "EnrollmentToken",
    "FirstAccess",
    "Kiosk",
    "OneTimeCode",
    "OperatorSession",
    "OutboxMessage",
    "PatientAccess",
    "PatientPresence",
    "PatientSession",
    "Receipt",
    "RevokedCard",
]
