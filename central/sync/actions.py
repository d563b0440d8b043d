"""What each action type does once its envelope is in the ledger (see dmpcommon.actions).

Each applier raises a ServiceError to reject the action ("rejected: code"). Action times
are the kiosk's (the envelope's `created_at`): an offline session is judged as of when it
happened at the counter.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.actors import Actor
from central.audit.models import AuditEntry
from central.audit.service import AuditLog
from central.dmp.models import Dmp
from central.dmp.policy import Mode
from central.dmp.schemas import CreateDmpRequest
from central.dmp.service import DmpService
from central.errors import BadRequest, NotFound, Unauthenticated
from central.identity.service import IdentityRegister, qualify_traced
from central.professionals.models import OperatorSession
from central.professionals.service import ProfessionalService, actor_of
from central.sync.ingest import Action, Applier
from central.sync.schemas import (
    CardIdentity,
    CardRefusedPayload,
    ConsentPayload,
    ContactPayload,
    OpenedPayload,
    ProfessionalPayload,
)
from dmpcommon.actions import ActionType

__all__ = ["appliers"]


class _Appliers:
    """The action types the ingest knows, bound to the domain services."""

    def __init__(
        self,
        professionals: ProfessionalService,
        dmps: DmpService,
        register: IdentityRegister,
    ) -> None:
        self.professionals = professionals
        self.dmps = dmps
        self.register = register
        # Rows a batch uses again and again (its operator session, the patient's DMP), held
        # so that the session's weak identity map does not let them go between actions and
        # select them once per action.
        self._held: dict[tuple[type, str], object] = {}

    def _hold(self, db: Session, model: type[OperatorSession] | type[Dmp], key: str) -> None:
        row = db.get(model, key)
        if row is not None:
            self._held[(model, key)] = row

    def table(self) -> dict[str, Applier]:
        return {
            ActionType.OPERATOR_SESSION_OPENED: self.session_opened,
            ActionType.OPERATOR_SESSION_CLOSED: self.session_closed,
            ActionType.IDENTITY_TO_QUALIFY: self.identity_to_qualify,
            ActionType.CONSENT_RECORDED: self.consent_recorded,
            ActionType.DMP_CREATED: self.dmp_created,
            ActionType.AUTHORISATION_GRANTED: self.authorisation_granted,
            ActionType.AUTHORISATION_REVOKED: self.authorisation_revoked,
            ActionType.CONTACT_SET: self.contact_set,
            ActionType.TREATING_DOCTOR_SET: self.treating_doctor_set,
            ActionType.DMP_OPENED: self.dmp_opened,
            ActionType.CARD_READ_REFUSED: self.card_read_refused,
        }

    # -- helpers ---------------------------------------------------------------------------

    def _session(self, action: Action) -> OperatorSession:
        row = action.db.get(OperatorSession, action.envelope.session_id)
        if row is None or row.kiosk_id != action.kiosk.id:
            raise Unauthenticated("no operator session for this action", code="no_operator_session")
        self._held[(OperatorSession, row.id)] = row
        if row.expires_at <= action.at or (row.closed_at is not None and row.closed_at < action.at):
            raise Unauthenticated("operator session over", code="operator_session_over")
        return row

    def _operator(self, action: Action) -> Actor:
        return actor_of(self._session(action))

    def _qualify(self, action: Action, actor: Actor, identity: CardIdentity) -> str:
        """The INS of traits read offline, qualified now (and traced as online)."""
        result = qualify_traced(
            self.register,
            action.db,
            actor,
            nom=identity.nom,
            prenom=identity.prenom,
            birth_date=identity.birth_date,
            nir=identity.nir,
            now=action.at,
            detail="queued",
        )
        ins = result.person.ins if result.person else None
        if ins is None:
            raise NotFound(f"identity {result.status}", code=f"identity_{result.status}", keep=True)
        return ins

    def _ins(
        self, action: Action, actor: Actor, ins: str | None, identity: CardIdentity | None
    ) -> str:
        if ins is not None:
            return ins
        if identity is None:
            raise BadRequest("neither ins nor identity", code="malformed_payload")
        return self._qualify(action, actor, identity)

    # -- appliers --------------------------------------------------------------------------

    def session_opened(self, action: Action) -> None:
        payload = action.payload
        self.professionals.open_session(
            action.db,
            kiosk_id=action.kiosk.id,
            session_id=action.envelope.session_id,
            issued_at=str(payload["issued_at"]),
            certificate_b64=str(payload["certificate"]),
            signature_b64=str(payload["signature"]),
            now=action.at,
            queued=True,
        )

    def session_closed(self, action: Action) -> None:
        self.professionals.close_session(action.db, self._operator(action), action.at)

    def identity_to_qualify(self, action: Action) -> None:
        self._qualify(action, self._operator(action), CardIdentity.model_validate(action.payload))

    def consent_recorded(self, action: Action) -> None:
        actor = self._operator(action)
        consent = ConsentPayload.model_validate(action.payload)
        ins = self._ins(action, actor, consent.ins, consent.identity)
        person = self.register.by_ins(ins)
        if person is None:
            raise NotFound("no qualified identity with this INS", code="ins_not_qualified")
        request = CreateDmpRequest(
            ins=ins,
            consent=True,
            information_version=consent.information_version,
            representative=consent.representative,
        )
        self.dmps.check_consent(person.birth_date, request, action.at.date())
        by = "representative" if consent.representative else "self"
        AuditLog.append(
            action.db,
            actor=actor,
            action="consent",
            outcome="recorded",
            patient_ins=ins,
            detail=f"consent={by};info={consent.information_version}",
            now=action.at,
        )

    def dmp_created(self, action: Action) -> None:
        actor = self._operator(action)
        fields = dict(action.payload)
        raw_identity = fields.pop("identity", None)
        identity = None if raw_identity is None else CardIdentity.model_validate(raw_identity)
        fields["ins"] = self._ins(action, actor, fields.get("ins"), identity)
        self.dmps.create(action.db, actor, CreateDmpRequest.model_validate(fields), action.at)

    def _professional(self, action: Action, change_to: str) -> None:
        actor = self._operator(action)
        change = ProfessionalPayload.model_validate(action.payload)
        ins = self._ins(action, actor, change.ins, change.identity)
        self.dmps.set_professional(action.db, actor, ins, change.id_nat, change_to, action.at)

    def authorisation_granted(self, action: Action) -> None:
        self._professional(action, "authorise")

    def authorisation_revoked(self, action: Action) -> None:
        self._professional(action, "revoke")

    def contact_set(self, action: Action) -> None:
        actor = self._operator(action)
        change = ContactPayload.model_validate(action.payload)
        ins = self._ins(action, actor, change.ins, change.identity)
        self._hold(action.db, Dmp, ins)
        self.dmps.set_contact(action.db, actor, ins, change.contact, action.at)

    def treating_doctor_set(self, action: Action) -> None:
        actor = self._operator(action)
        change = ProfessionalPayload.model_validate(action.payload)
        ins = self._ins(action, actor, change.ins, change.identity)
        self._hold(action.db, Dmp, ins)
        self.dmps.set_treating_doctor(action.db, actor, ins, change.id_nat, action.at)

    def dmp_opened(self, action: Action) -> None:
        """The kiosk's own trace of an opening: it must match an access the service served.

        The record can only be opened online; the service traced that access when it served
        it. This action reconciles the kiosk's ledger with the audit trail and adds no second
        entry: an opening the audit does not know is rejected (and visible on the kiosk).
        """
        session = self._session(action)
        actor = actor_of(session)
        opened = OpenedPayload.model_validate(action.payload)
        mode = Mode(opened.mode)
        if mode is Mode.BREAK_GLASS and not (opened.reason_code and opened.reason_text):
            raise BadRequest("break-glass without a reason", code="reason_required")
        served = action.db.scalar(
            select(AuditEntry.id)
            .where(
                AuditEntry.action == "open",
                AuditEntry.outcome == "allowed",
                AuditEntry.actor_id == actor.id,
                AuditEntry.patient_ins == opened.ins,
                AuditEntry.mode == mode.value,
                AuditEntry.at >= session.created_at,
            )
            .limit(1)
        )
        if served is None:
            raise NotFound("no access served for this opening", code="access_not_served")

    def card_read_refused(self, action: Action) -> None:
        refused = CardRefusedPayload.model_validate(action.payload)
        AuditLog.append(
            action.db,
            actor=self._operator(action),
            action="card_read_refused",
            outcome="refused",
            patient_ins=None,
            detail=refused.reason,
            now=action.at,
        )


def appliers(
    professionals: ProfessionalService, dmps: DmpService, register: IdentityRegister
) -> dict[str, Applier]:
    """The action types the ingest knows, bound to the domain services."""
    return _Appliers(professionals, dmps, register).table()
