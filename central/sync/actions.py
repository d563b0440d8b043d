"""What each action type does once its envelope is in the ledger (see dmpcommon.actions).

One applier per action type, each reading the payload class the kiosk built it with. An
applier raises a ServiceError to reject the action ("rejected: code"). Action times are the
kiosk's (the envelope's `created_at`), bounded by the ingest (central.sync.timing) and here by
the operator session they belong to: an offline session is judged as of when it happened at
the counter, never outside it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.actors import Actor
from central.audit.models import AuditEntry
from central.audit.trail import AuditAction, AuditOutcome, trace
from central.dmp.documents import counter_document
from central.dmp.models import Dmp
from central.dmp.professionals import forget_professions
from central.dmp.schemas import ProfessionalChange
from central.dmp.services import DmpServices
from central.errors import Forbidden, NotFound, Unauthenticated
from central.identity.service import IdentityRegister, is_present, qualify_traced
from central.professionals.models import OperatorSession, RevokedCard
from central.professionals.service import ProfessionalService, actor_of
from central.sync.ingest import Action, Applier
from central.sync.timing import ClockBounds
from dmpcommon.actions import (
    ActionPayload,
    ActionType,
    ActivationReissued,
    AuthorisationGranted,
    AuthorisationRevoked,
    CardReadRefused,
    CardTraits,
    ConsentRecorded,
    ContactSet,
    DmpClosed,
    DmpCreated,
    DmpOpened,
    DmpReopened,
    DocumentAdded,
    IdentityChecked,
    IdentityToQualify,
    OperatorSessionClosed,
    OperatorSessionOpened,
    PatientPayload,
    TreatingDoctorSet,
)
from dmpcommon.vocabulary import AccessMode

__all__ = ["APPLIED", "appliers"]

P = TypeVar("P", bound=ActionPayload)
_Method = Callable[["_Appliers", Action[Any]], None]

# The payload class each applier reads, filled by @_applies: one applier per action type.
APPLIED: dict[ActionType, type[ActionPayload]] = {}
_METHODS: dict[ActionType, _Method] = {}


def _applies(
    payload: type[P],
) -> Callable[[Callable[[_Appliers, Action[P]], None]], Callable[[_Appliers, Action[P]], None]]:
    def register(
        method: Callable[[_Appliers, Action[P]], None],
    ) -> Callable[[_Appliers, Action[P]], None]:
        if payload.action_type in APPLIED:
            raise TypeError(f"two appliers for {payload.action_type}")
        APPLIED[payload.action_type] = payload
        _METHODS[payload.action_type] = method
        return method

    return register


class _Appliers:
    """The action types the ingest knows, bound to the domain services."""

    def __init__(
        self,
        professionals: ProfessionalService,
        dmp: DmpServices,
        register: IdentityRegister,
        bounds: ClockBounds,
    ) -> None:
        self.professionals = professionals
        self.dmp = dmp
        self.register = register
        self.bounds = bounds
        # Rows a batch uses again and again (its operator session, the patient's DMP), held
        # so that the session's weak identity map does not let them go between actions and
        # select them once per action.
        self._held: dict[tuple[type, str], object] = {}
        # Each card's revocation, looked up once per batch (not once per action).
        self._revoked: dict[str, dt.datetime | None] = {}

    def table(self) -> dict[str, Applier]:
        def bound(method: _Method) -> Applier:
            def apply(action: Action[Any]) -> None:
                expected = APPLIED[ActionType(action.envelope.action_type)]
                if not isinstance(action.payload, expected):  # decode_payload's own class
                    raise TypeError(f"{action.envelope.action_type}: not a {expected.__name__}")
                method(self, action)

            return apply

        return {action_type: bound(method) for action_type, method in _METHODS.items()}

    def _hold(self, db: Session, model: type[OperatorSession] | type[Dmp], key: str) -> None:
        if (model, key) in self._held:  # the identity map's own object: no get() again
            return
        row = db.get(model, key)
        if row is not None:
            self._held[(model, key)] = row

    # -- helpers ---------------------------------------------------------------------------

    def _session(self, action: Action[Any]) -> OperatorSession:
        held = self._held.get((OperatorSession, action.envelope.session_id))
        row = (
            held if held is not None else action.db.get(OperatorSession, action.envelope.session_id)
        )
        if not isinstance(row, OperatorSession) or row.kiosk_id != action.kiosk.id:
            raise Unauthenticated("no operator session for this action", code="no_operator_session")
        self._held[(OperatorSession, row.id)] = row
        if row.expires_at <= action.at or (row.closed_at is not None and row.closed_at < action.at):
            raise Unauthenticated("operator session over", code="operator_session_over")
        if row.closed_seq is not None and action.envelope.seq > row.closed_seq:
            # The kiosk wrote its close before this: dated inside the session, it is forged.
            raise Unauthenticated("operator session over", code="operator_session_over")
        if action.at < row.created_at - self.bounds.skew:  # a closed session's id, back-dated
            raise Unauthenticated(
                "action dated before its operator session", code="action_time_outside_session"
            )
        if row.id_nat not in self._revoked:
            found = action.db.get(RevokedCard, row.id_nat)
            self._revoked[row.id_nat] = None if found is None else found.revoked_at
        revoked_at = self._revoked[row.id_nat]
        if revoked_at is not None and revoked_at <= action.at:
            raise Unauthenticated("the operator's card is revoked", code="card_revoked")
        return row

    def _operator(self, action: Action[Any]) -> Actor:
        return actor_of(self._session(action))

    def _qualify(self, action: Action[Any], actor: Actor, traits: CardTraits) -> str:
        """The INS of traits read offline, qualified now (and traced, kept if rejected)."""
        result = qualify_traced(self.register, action.db, actor, traits, now=action.at, queued=True)
        ins = result.person.ins if result.person else None
        if ins is None:
            raise NotFound(f"identity {result.status}", code=f"identity_{result.status.value}")
        return ins

    def _patient(self, action: Action[PatientPayload], actor: Actor) -> str:
        """The payload's INS, or the INS its card traits qualify to."""
        payload = action.payload
        if payload.identity is not None:  # PatientPayload holds exactly one of the two
            return self._qualify(action, actor, payload.identity)
        return str(payload.ins)

    # -- appliers --------------------------------------------------------------------------

    @_applies(OperatorSessionOpened)
    def session_opened(self, action: Action[OperatorSessionOpened]) -> None:
        payload = action.payload
        self.professionals.open_session(
            action.db,
            kiosk_id=action.kiosk.id,
            session_id=action.envelope.session_id,
            issued_at=payload.issued_at,
            certificate_b64=payload.certificate,
            signature_b64=payload.signature,
            now=action.at,
            queued=True,
        )
        forget_professions(action.db)  # this card's profession is now known

    @_applies(OperatorSessionClosed)
    def session_closed(self, action: Action[OperatorSessionClosed]) -> None:
        # Not _session: a session already closed live still takes the kiosk's own close,
        # whose sequence then bounds the session (nothing the kiosk wrote after is of it).
        row = action.db.get(OperatorSession, action.envelope.session_id)
        if row is None or row.kiosk_id != action.kiosk.id:
            raise Unauthenticated("no operator session for this action", code="no_operator_session")
        if row.closed_seq is not None:
            raise Unauthenticated("operator session over", code="operator_session_over")
        if action.at < row.created_at - self.bounds.skew:
            raise Unauthenticated(
                "action dated before its operator session", code="action_time_outside_session"
            )
        self.professionals.close_session(action.db, actor_of(row), action.at)
        row.closed_seq = action.envelope.seq

    @_applies(IdentityToQualify)
    def identity_to_qualify(self, action: Action[IdentityToQualify]) -> None:
        self._qualify(action, self._operator(action), action.payload.traits())

    @_applies(ConsentRecorded)
    def consent_recorded(self, action: Action[ConsentRecorded]) -> None:
        actor = self._operator(action)
        ins = self._patient(action, actor)
        self.dmp.creation.record_consent(action.db, actor, ins, action.payload, action.at)

    @_applies(DmpCreated)
    def dmp_created(self, action: Action[DmpCreated]) -> None:
        actor = self._operator(action)
        ins = self._patient(action, actor)
        self.dmp.creation.create(action.db, actor, ins, action.payload, action.at)

    @_applies(AuthorisationGranted)
    def authorisation_granted(self, action: Action[AuthorisationGranted]) -> None:
        actor = self._operator(action)
        ins = self._patient(action, actor)
        self.dmp.professionals.set_professional(
            action.db,
            actor,
            ins,
            action.payload.id_nat,
            ProfessionalChange.AUTHORISE,
            action.at,
            patient_agreement=action.payload.patient_agreement,
        )

    @_applies(AuthorisationRevoked)
    def authorisation_revoked(self, action: Action[AuthorisationRevoked]) -> None:
        actor = self._operator(action)
        ins = self._patient(action, actor)
        self.dmp.professionals.set_professional(
            action.db, actor, ins, action.payload.id_nat, ProfessionalChange.REVOKE, action.at
        )

    @_applies(ContactSet)
    def contact_set(self, action: Action[ContactSet]) -> None:
        actor = self._operator(action)
        ins = self._patient(action, actor)
        self._hold(action.db, Dmp, ins)
        self.dmp.contacts.set_contact(action.db, actor, ins, action.payload.contact, action.at)

    @_applies(TreatingDoctorSet)
    def treating_doctor_set(self, action: Action[TreatingDoctorSet]) -> None:
        actor = self._operator(action)
        ins = self._patient(action, actor)
        self._hold(action.db, Dmp, ins)
        self.dmp.professionals.set_treating_doctor(
            action.db, actor, ins, action.payload.id_nat, action.at
        )

    @_applies(DmpOpened)
    def dmp_opened(self, action: Action[DmpOpened]) -> None:
        """The kiosk's own trace of an opening: it must match an access the service served.

        The record can only be opened online; the service traced that access when it served
        it. This action reconciles the kiosk's ledger with the audit trail and adds no second
        entry: an opening the audit does not know is rejected (and visible on the kiosk).
        The break-glass reason is checked by the payload itself (dmpcommon.actions).
        """
        session = self._session(action)
        actor = actor_of(session)
        opened = action.payload
        served = action.db.scalar(
            select(AuditEntry.id)
            .where(
                AuditEntry.action == AuditAction.OPEN,
                AuditEntry.outcome == AuditOutcome.ALLOWED,
                AuditEntry.actor_id == actor.id,
                AuditEntry.patient_ins == opened.ins,
                AuditEntry.mode == opened.mode,
                AuditEntry.at >= session.created_at,
            )
            .where(
                AuditEntry.detail
                == (
                    f"{opened.reason_code}: {opened.reason_text}"
                    if opened.mode is AccessMode.BREAK_GLASS
                    else ""
                )
            )
            .limit(1)
        )
        if served is None:
            raise NotFound("no access served for this opening", code="access_not_served")

    @_applies(CardReadRefused)
    def card_read_refused(self, action: Action[CardReadRefused]) -> None:
        trace(
            action.db,
            self._operator(action),
            AuditAction.CARD_READ_REFUSED,
            now=action.at,
            outcome=AuditOutcome.REFUSED,
            detail=action.payload.reason.value,
        )

    @_applies(IdentityChecked)
    def identity_checked(self, action: Action[IdentityChecked]) -> None:
        actor = self._operator(action)
        ins = self._patient(action, actor)
        if not is_present(action.db, actor.session_id, ins, action.at):
            # Only of a patient this session saw: no "a contrôlé votre pièce" in anyone's log.
            raise Forbidden("the patient is not at this counter", code="patient_absent")
        trace(
            action.db,
            actor,
            AuditAction.IDENTITY_CHECKED,
            now=action.at,
            patient_ins=ins,
            detail=action.payload.document.value,
        )

    @_applies(DocumentAdded)
    def document_added(self, action: Action[DocumentAdded]) -> None:
        actor = self._operator(action)
        ins = self._patient(action, actor)
        self._hold(action.db, Dmp, ins)
        self.dmp.documents.add_document(
            action.db, actor, ins, counter_document(action.payload, action.at.date()), action.at
        )

    @_applies(DmpClosed)
    def dmp_closed(self, action: Action[DmpClosed]) -> None:
        actor = self._operator(action)
        self.dmp.lifecycle.close(action.db, actor, self._patient(action, actor), action.at)

    @_applies(DmpReopened)
    def dmp_reopened(self, action: Action[DmpReopened]) -> None:
        actor = self._operator(action)
        self.dmp.lifecycle.reopen(action.db, actor, self._patient(action, actor), action.at)

    @_applies(ActivationReissued)
    def activation_reissued(self, action: Action[ActivationReissued]) -> None:
        actor = self._operator(action)
        ins = self._patient(action, actor)
        payload = action.payload
        self.dmp.contacts.reissue_activation(
            action.db,
            actor,
            ins,
            action.at,
            drawn=(payload.access_identifier, payload.activation_code),
        )


def appliers(
    professionals: ProfessionalService,
    dmp: DmpServices,
    register: IdentityRegister,
    bounds: ClockBounds,
) -> dict[str, Applier]:
    """The action types the ingest knows, bound to the domain services."""
    return _Appliers(professionals, dmp, register, bounds).table()
