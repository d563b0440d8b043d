"""The DMP's use cases, wired once for the service."""

from __future__ import annotations

from dataclasses import dataclass

from central.dmp.access import RecordAccess
from central.dmp.common import PatientNotices
from central.dmp.contacts import RecordContacts
from central.dmp.creation import DmpCreation
from central.dmp.documents import RecordDocuments
from central.dmp.lifecycle import RecordLifecycle
from central.dmp.professionals import RecordProfessionals
from central.identity.service import IdentityRegister
from central.notify.service import Notifier

__all__ = ["DmpServices"]


@dataclass(frozen=True, slots=True)
class DmpServices:
    """Creation, access, professionals, contacts, documents, closing and reopening."""

    creation: DmpCreation
    access: RecordAccess
    professionals: RecordProfessionals
    contacts: RecordContacts
    documents: RecordDocuments
    lifecycle: RecordLifecycle

    @classmethod
    def build(
        cls,
        *,
        register: IdentityRegister,
        notifier: Notifier,
        key: bytes,
        portal_url: str,
        activation_days: int,
        document_max_bytes: int,
    ) -> DmpServices:
        """Every use case, sharing one way to tell the patient."""
        notices = PatientNotices(notifier, portal_url)
        return cls(
            creation=DmpCreation(register=register, key=key, activation_days=activation_days),
            access=RecordAccess(notices),
            professionals=RecordProfessionals(),
            contacts=RecordContacts(notices, key=key, activation_days=activation_days),
            documents=RecordDocuments(notices, max_bytes=document_max_bytes),
            lifecycle=RecordLifecycle(notices),
        )
