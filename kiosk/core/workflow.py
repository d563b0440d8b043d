"""The counter workflow: a plain state machine that tests drive without Qt.

One `CounterWorkflow` per kiosk. Its commands (a card in or out, a PIN, a tap) run one at a
time on the UI's worker thread, call the ports (cards, central service, queue) and move the
state; `view()` gives the screens an immutable snapshot in codes and values. Every step that
changes anything writes its action to the queue before the state says it is done. Patient
data lives in this object only until the card is pulled out, "Terminer", or the idle
timeout: then it is dropped.
"""

from __future__ import annotations

import base64
import datetime as dt
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from dmpcommon.actions import (
    ActionPayload,
    CardReadRefused,
    ConsentRecorded,
    DmpCreated,
    DmpOpened,
    EmergencyChoices,
    IdentityToQualify,
    NotificationContact,
    OperatorSessionClosed,
    OperatorSessionOpened,
    RefusedCard,
    Representative,
)
from dmpcommon.attestation import attestation_digest
from dmpcommon.contact import ContactError, normalise_contact
from dmpcommon.identifiers import (
    IdentifierError,
    check_health_professional_id_nat,
    id_nat_of_rpps,
    new_access_identifier,
    new_activation_code,
)
from dmpcommon.people import BirthDate, check_representative
from dmpcommon.vocabulary import (
    REASON_TEXT_MIN,
    AccessMode,
    Authorisation,
    BreakGlassReason,
    DmpStatus,
    QualificationStatus,
    Role,
)
from kiosk.core.domain import (
    CardFamily,
    OperatorCard,
    RetrievedIdentity,
    pin_format_ok,
)
from kiosk.core.errors import (
    CardError,
    CentralRefusedError,
    CentralUnreachableError,
    PinBlockedError,
    PinError,
)
from kiosk.core.notices import Notice, NoticeCode, notice_for
from kiosk.core.ports import (
    CardPort,
    CentralPort,
    Delivery,
    Qualification,
    QueuePort,
    RecordStatus,
    RecordSummary,
)
from kiosk.core.views import (
    AccessSheet,
    CounterView,
    CreationForm,
    HolderView,
    OperatorView,
    Step,
)

__all__ = ["NO_SESSION", "CounterWorkflow"]

NO_SESSION = "none"  # the session id of what happens with nobody logged in


@dataclass
class _Operator:
    card: OperatorCard
    reader: str
    session_id: str
    token: str | None  # None: logged in offline, the login goes through the queue
    role: Role | None


@dataclass(frozen=True, slots=True)
class _Capabilities:
    """What the operator may do now: decided here once, drawn by the screens."""

    create: bool = False
    open: bool = False
    open_as_regulator: bool = False
    break_glass: bool = False
    authorise_operator: bool = False
    reissue_activation: bool = False
    close: bool = False
    reopen: bool = False
    finish: bool = False


def _holder_view(holder: RetrievedIdentity, today: dt.date) -> HolderView:
    return HolderView(holder.nom, holder.prenom, holder.birth_date, holder.minor_on(today))


class CounterWorkflow:
    """The counter's state machine over the card, central and queue ports."""

    def __init__(
        self,
        *,
        kiosk_id: str,
        cards: CardPort,
        central: CentralPort,
        queue: QueuePort,
        idle_s: float = 90.0,
        clock: Callable[[], float] = time.monotonic,
        today: Callable[[], dt.date] = dt.date.today,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.kiosk_id = kiosk_id
        self.cards = cards
        self.central = central
        self.queue = queue
        self.idle_s = idle_s
        self.clock = clock
        self.today = today
        self.now = now
        self.step = Step.WELCOME
        self.notice: Notice | None = None
        self._operator: _Operator | None = None
        self._pin_reader: str | None = None
        self._pin_card: OperatorCard | None = None
        self._pin_tries: int | None = None
        self._last_activity = clock()
        self._clear_patient()

    # -- state ---------------------------------------------------------------------------

    def _clear_patient(self) -> None:
        """Drop everything about the patient (card out, "Terminer", idle)."""
        self._patient_reader: str | None = None
        self._holders: tuple[RetrievedIdentity, ...] = ()
        self._chosen: int | None = None
        self._qualification: Qualification | None = None
        self._status: RecordStatus | None = None
        self._information_version: str | None = None
        self._form = CreationForm()
        self._sheet: AccessSheet | None = None
        self._creation: object | None = None  # the queued creation, until answered
        self._delivery: Delivery | None = None
        self._summary: RecordSummary | None = None

    def _touch(self) -> None:
        self._last_activity = self.clock()
        self.notice = None

    def activity(self) -> None:
        """Someone is using the screen (a key, a tap, a scroll): the idle clock starts
        again; what the notice says stays."""
        self._last_activity = self.clock()

    def _say(self, code: NoticeCode, reason: str | None = None) -> None:
        self.notice = Notice(code, reason)

    @property
    def _holder(self) -> RetrievedIdentity | None:
        return None if self._chosen is None else self._holders[self._chosen]

    def _capabilities(self) -> _Capabilities:
        op, holder, status = self._operator, self._holder, self._status
        professional = op is not None and op.card.identity.health_professional
        authorisable = self._capabilities_of_consent()
        if op is None or holder is None or self.step is not Step.PATIENT:
            return _Capabilities(
                authorise_operator=authorisable,
                finish=self.step in (Step.CREATED, Step.SUMMARY),
            )
        online = op.token is not None and self._qualification is not None
        valid = status is not None and status.dmp is DmpStatus.VALID
        authorisation = status.authorisation if status else None
        return _Capabilities(
            # Offline the status is unknown: the service says "dmp_exists" if there was one.
            create=status is None or status.dmp is DmpStatus.NONE,
            open=professional and online and valid and authorisation is Authorisation.AUTHORISED,
            open_as_regulator=professional and online and valid and op.role is Role.SAMU_REGULATOR,
            break_glass=(
                professional and online and valid and authorisation is Authorisation.NOT_AUTHORISED
            ),
            authorise_operator=authorisable,
            # A lost sheet or a locked-out patient: a new code, the patient at the counter.
            reissue_activation=online and status is not None and status.dmp is not DmpStatus.NONE,
            # At the patient's request, the patient here: the patient's own pages do it too.
            close=online and valid,
            reopen=online and status is not None and status.dmp is DmpStatus.CLOSED,
            finish=True,
        )

    def _capabilities_of_consent(self) -> bool:
        """Whether the operator may be authorised by the patient at creation: a health
        professional whose card identifier names one (never an agent)."""
        op = self._operator
        if op is None or not op.card.identity.health_professional:
            return False
        try:
            check_health_professional_id_nat(op.card.identity.id_nat)
        except IdentifierError:
            return False
        return True

    def view(self) -> CounterView:
        """What the screens show now."""
        op = self._operator
        today = self.today()
        holder = self._holder
        can = self._capabilities()
        return CounterView(
            step=self.step,
            notice=self.notice,
            operator=(
                OperatorView(
                    nom=op.card.identity.nom,
                    prenom=op.card.identity.prenom,
                    structure=op.card.identity.structure_name,
                    health_professional=op.card.identity.health_professional,
                    regulator=op.role is Role.SAMU_REGULATOR,
                )
                if op
                else None
            ),
            online=bool(op is None or op.token is not None),
            pin_tries_left=self._pin_tries,
            holders=tuple(_holder_view(h, today) for h in self._holders),
            patient=_holder_view(holder, today) if holder else None,
            identity_qualified=self._qualification is not None,
            dmp=self._status.dmp if self._status else None,
            authorisation=self._status.authorisation if self._status else None,
            minor=bool(holder and holder.minor_on(today)),
            adults=tuple(
                (i, _holder_view(h, today))
                for i, h in enumerate(self._holders)
                if i != self._chosen and not h.minor_on(today) and h.qualifiable
            ),
            form=self._form,
            sheet=self._sheet,
            creation=self._delivery,
            summary=self._summary,
            can_create=can.create,
            can_open=can.open,
            can_open_as_regulator=can.open_as_regulator,
            can_break_glass=can.break_glass,
            can_authorise_operator=can.authorise_operator,
            can_reissue_activation=can.reissue_activation,
            can_close=can.close,
            can_reopen=can.reopen,
            can_finish=can.finish,
        )

    # -- cards ---------------------------------------------------------------------------

    def card_inserted(self, reader: str, family: CardFamily) -> None:
        """A card arrived; `family` is what its ATR says."""
        self._touch()
        if family is CardFamily.PROFESSIONAL:
            self._professional_in(reader)
        elif family is CardFamily.VITALE2:
            self._patient_in(reader)
        else:
            self._say(NoticeCode.CARD_REFUSED, family.value)
            if self._operator is not None:  # traced for the operator; no card data in it
                self._enqueue(CardReadRefused(reason=RefusedCard(family.value)))

    def card_removed(self, reader: str) -> None:
        """A card left its reader."""
        self._touch()
        if self._operator is not None and reader == self._operator.reader:
            self.logout()
            self._say(NoticeCode.OPERATOR_CARD_REMOVED)
        elif reader == self._pin_reader:
            self._forget_pin_card()
            self.step = Step.WELCOME
        elif reader == self._patient_reader:
            self._clear_patient()
            self.step = Step.READY if self._operator else Step.WELCOME
            self._say(NoticeCode.PATIENT_CARD_REMOVED)

    def _forget_pin_card(self) -> None:
        self._pin_reader, self._pin_card, self._pin_tries = None, None, None

    def _professional_in(self, reader: str) -> None:
        if self._operator is not None or self._pin_reader is not None:
            self._say(NoticeCode.OPERATOR_ALREADY_IN)
            return
        try:
            card = self.cards.read_professional(reader)  # identity, tries and certificate
        except CardError as exc:
            self.notice = notice_for(exc)
            return
        if card.tries_left == 0:
            self._say(NoticeCode.PIN_BLOCKED)
            return
        self._pin_reader, self._pin_card, self._pin_tries = reader, card, card.tries_left
        self.step = Step.PIN

    def _patient_in(self, reader: str) -> None:
        if self._operator is None:
            self._say(NoticeCode.LOGIN_FIRST)
            return
        if self._patient_reader is not None:
            self._say(NoticeCode.ONE_PATIENT_AT_A_TIME)
            return
        try:
            holders = self.cards.read_vitale(reader)
        except CardError as exc:
            self.notice = notice_for(exc)
            return
        self._clear_patient()
        self._patient_reader, self._holders = reader, holders
        self.step = Step.HOLDERS

    # -- operator ------------------------------------------------------------------------

    def submit_pin(self, pin: str) -> None:
        """The operator typed the PIN: verify, sign the session attestation, log in."""
        self._touch()
        reader, card = self._pin_reader, self._pin_card
        if self.step is not Step.PIN or reader is None or card is None:
            return
        if not pin_format_ok(pin):  # never sent to the card: it could only cost a try
            self._say(NoticeCode.PIN_FORMAT)
            return
        session_id = uuid.uuid4().hex
        issued_at = self.now().astimezone(dt.UTC).isoformat(timespec="microseconds")
        digest = attestation_digest(
            kiosk_id=self.kiosk_id, session_id=session_id, issued_at=issued_at
        )
        try:
            signature = self.cards.sign_attestation(reader, pin, digest)
        except PinBlockedError as exc:
            self._forget_pin_card()
            self._pin_tries = 0
            self.step = Step.WELCOME
            self.notice = notice_for(exc)
            return
        except PinError as exc:
            self._pin_tries = exc.tries_left if exc.tries_left >= 0 else None
            self.notice = notice_for(exc)
            return
        except CardError as exc:
            self.notice = notice_for(exc)
            return
        token: str | None = None
        role: Role | None = None
        try:
            online = self.central.open_session(
                kiosk_id=self.kiosk_id,
                session_id=session_id,
                issued_at=issued_at,
                certificate=card.certificate,
                signature=signature,
            )
            token, role = online.token, online.role
        except CentralUnreachableError:
            pass  # offline: the login reaches the service through the queue
        except CentralRefusedError as exc:
            self._forget_pin_card()
            self.step = Step.WELCOME
            self.notice = notice_for(exc)
            return
        # The login's trace, queued after the live login so that it can only reconcile it.
        self._enqueue(
            OperatorSessionOpened(
                issued_at=issued_at,
                certificate=base64.b64encode(card.certificate).decode(),
                signature=base64.b64encode(signature).decode(),
            ),
            session_id=session_id,
        )
        self._operator = _Operator(card, reader, session_id, token, role)
        self._forget_pin_card()
        self.step = Step.READY
        if token is None:
            self._say(NoticeCode.OFFLINE_LOGIN)

    def logout(self) -> None:
        """The professional card left, or the operator logs out: close the session."""
        op = self._operator
        if op is not None:
            self._enqueue(OperatorSessionClosed(), session_id=op.session_id)
        self._operator = None
        self._forget_pin_card()
        self._clear_patient()
        self.step = Step.WELCOME

    # -- patient -------------------------------------------------------------------------

    def choose_holder(self, index: int) -> None:
        """The person the operator serves: qualify the identity, then the DMP's status."""
        self._touch()
        op = self._operator
        if op is None or self.step is not Step.HOLDERS or not 0 <= index < len(self._holders):
            return
        holder = self._holders[index]
        if not holder.qualifiable:  # a NIR whose key is wrong is not sent anywhere
            self._say(NoticeCode.NIR_INVALID)
            return
        self._chosen = index
        self._qualification, self._status = None, None
        traits = holder.traits()
        if op.token is not None:
            try:
                qualification = self.central.qualify(op.token, traits)
                if (
                    qualification.status is not QualificationStatus.QUALIFIED
                    or not qualification.ins
                ):
                    self._say(NoticeCode.IDENTITY_NOT_QUALIFIED, qualification.status.value)
                    self._chosen = None
                    return
                self._qualification = qualification
                self._status = self.central.status(op.token, qualification.ins)
            except CentralUnreachableError:
                op.token = None  # the network went: carry on offline
                self._qualification, self._status = None, None
            except CentralRefusedError as exc:
                self.notice = notice_for(exc)
                self._chosen = None
                self._qualification, self._status = None, None
                return
        if self._qualification is None:
            self._enqueue(IdentityToQualify.of(traits))
            self._say(NoticeCode.TO_QUALIFY)
        self.step = Step.PATIENT

    def start_creation(self) -> None:
        """The operator starts a creation: the information text comes first."""
        self._touch()
        if self._capabilities().create:
            self.step = Step.INFORMATION

    def accept_information(self, information_version: str) -> None:
        """The patient read the information text of this version: the consent screen."""
        self._touch()
        if self.step is Step.INFORMATION:
            self._information_version = information_version
            self.step = Step.CONSENT

    def update_form(self, **changes: Any) -> None:
        """A tap on the consent screen (consent, choices, contact...)."""
        self._touch()
        if self.step is Step.CONSENT:
            self._form = replace(self._form, **changes)

    def back(self) -> None:
        """Back from the information, consent, break-glass or summary screens."""
        self._touch()
        if self.step in (Step.INFORMATION, Step.CONSENT, Step.BREAK_GLASS, Step.SUMMARY):
            self._summary = None
            self.step = Step.PATIENT

    def create(self) -> None:
        """Queue the consent and the creation; then the access sheet."""
        self._touch()
        op, holder, form, version = (
            self._operator,
            self._holder,
            self._form,
            self._information_version,
        )
        if op is None or holder is None or version is None or self.step is not Step.CONSENT:
            return
        problem = self._form_problem(holder, form)
        if problem is not None:
            self.notice = problem
            return
        patient: dict[str, Any] = (
            {"ins": self._qualification.ins}
            if self._qualification is not None
            else {"identity": holder.traits()}
        )
        chosen = self._representative(form)
        representative = Representative.of_card(chosen.traits()) if chosen is not None else None
        contact = (
            NotificationContact(channel=form.contact_channel, address=form.contact_address)
            if form.contact_channel
            else None
        )
        authorise = form.authorise_operator and self._capabilities_of_consent()
        identifier, code = new_access_identifier(), new_activation_code()
        # Both built before either is queued: a consent never waits alone in the queue.
        consent = ConsentRecorded(
            **patient, information_version=version, representative=representative
        )
        created = DmpCreated(
            **patient,
            consent=True,
            information_version=version,
            representative=representative,
            emergency=EmergencyChoices(etreat=form.etreat, btg=form.btg, masked=form.masked),
            contact=contact,
            treating_doctor=(
                id_nat_of_rpps(form.treating_doctor) if form.treating_doctor.strip() else None
            ),
            authorised_professionals=(op.card.identity.id_nat,) if authorise else (),
            access_identifier=identifier,
            activation_code=code,
        )
        self._enqueue(consent)
        self._creation = self._enqueue(created)
        self._delivery = Delivery.PENDING
        self._sheet = AccessSheet(
            nom=holder.nom,
            prenom=holder.prenom,
            identifier=identifier,
            activation_code=code,
            etreat=form.etreat,
            btg=form.btg,
            masked=form.masked,
            online=op.token is not None,
        )
        self.step = Step.CREATED

    def _representative(self, form: CreationForm) -> RetrievedIdentity | None:
        """The holder the form names as legal representative: another holder of the card,
        whose NIR can be sent; anything else is no one."""
        index = form.representative
        if index is None or not 0 <= index < len(self._holders) or index == self._chosen:
            return None
        holder = self._holders[index]
        return holder if holder.qualifiable else None

    def _form_problem(self, holder: RetrievedIdentity, form: CreationForm) -> Notice | None:
        if not form.consent:
            return Notice(NoticeCode.CONSENT_REQUIRED)
        representative = self._representative(form)
        try:
            consent_problem = check_representative(
                BirthDate.parse(holder.birth_date),
                BirthDate.parse(representative.birth_date) if representative else None,
                self.today(),
            )
        except ValueError:
            return Notice(NoticeCode.REPRESENTATIVE_INVALID, "birth_date_invalid")
        if consent_problem is not None:
            return Notice(NoticeCode.REPRESENTATIVE_INVALID, consent_problem.value)
        if form.contact_channel:
            try:
                normalise_contact(form.contact_channel, form.contact_address)
            except ContactError as exc:
                return Notice(NoticeCode.CONTACT_INVALID, exc.problem.value)
        if form.treating_doctor.strip():
            try:
                id_nat_of_rpps(form.treating_doctor)
            except IdentifierError as exc:
                return Notice(NoticeCode.DOCTOR_INVALID, exc.problem.value)
        return None

    def ask_break_glass(self) -> None:
        """The operator asks for a break-glass opening: the reason screen."""
        self._touch()
        if self._capabilities().break_glass:
            self.step = Step.BREAK_GLASS

    def open_record(
        self,
        mode: AccessMode = AccessMode.NORMAL,
        reason_code: BreakGlassReason | None = None,
        reason_text: str | None = None,
    ) -> None:
        """Open the summary (online, health professionals only), and trace it."""
        self._touch()
        op, qualification = self._operator, self._qualification
        if op is None or self._holder is None:
            return
        if not op.card.identity.health_professional:
            self._say(NoticeCode.AGENT_NO_CONTENT)
            return
        if op.token is None or qualification is None or qualification.ins is None:
            self._say(NoticeCode.OPEN_NEEDS_NETWORK)
            return
        reason_text = reason_text.strip() if reason_text else None
        if mode is AccessMode.BREAK_GLASS:
            if self.step is not Step.BREAK_GLASS:
                return
            if reason_code is None or not reason_text or len(reason_text) < REASON_TEXT_MIN:
                self._say(NoticeCode.REASON_REQUIRED)
                return
        else:
            can = self._capabilities()
            allowed = can.open_as_regulator if mode is AccessMode.REGULATOR else can.open
            if not allowed:
                return
            reason_code, reason_text = None, None
        try:
            summary = self.central.open_record(
                op.token,
                qualification.ins,
                mode=mode,
                reason_code=reason_code,
                reason_text=reason_text,
            )
        except CentralUnreachableError:
            self._say(NoticeCode.OPEN_NEEDS_NETWORK)
            return
        except CentralRefusedError as exc:
            self._say(NoticeCode.OPEN_REFUSED, exc.reason)
            return
        self._enqueue(
            DmpOpened(
                ins=qualification.ins, mode=mode, reason_code=reason_code, reason_text=reason_text
            )
        )
        self._summary = summary
        self.step = Step.SUMMARY

    def reissue_activation(self) -> None:
        """A new activation code for the patient's existing DMP (online only): the old one
        is void, the service has told the patient, and a new sheet is printed."""
        self._touch()
        op, holder, qualification = self._operator, self._holder, self._qualification
        if not self._capabilities().reissue_activation:
            return
        if op is None or op.token is None or holder is None or qualification is None:
            return
        if qualification.ins is None:
            return
        try:
            access = self.central.reissue_activation(op.token, qualification.ins)
        except CentralUnreachableError:
            self._say(NoticeCode.REISSUE_NEEDS_NETWORK)
            return
        except CentralRefusedError as exc:
            self._say(NoticeCode.CENTRAL_REFUSED, exc.reason)
            return
        self._sheet = AccessSheet(
            nom=holder.nom,
            prenom=holder.prenom,
            identifier=access.identifier,
            activation_code=access.activation_code,
            etreat=False,
            btg=False,
            masked=False,
            online=True,
            reissued=True,
        )
        self._delivery = Delivery.ACCEPTED  # the service answered at once
        self.step = Step.CREATED

    def set_closed(self, closed: bool) -> None:
        """Close the DMP, or reopen it, at the patient's request (online only)."""
        self._touch()
        can = self._capabilities()
        op, qualification = self._operator, self._qualification
        if not (can.close if closed else can.reopen):
            return
        if op is None or op.token is None or qualification is None or qualification.ins is None:
            return
        try:
            self.central.set_closed(op.token, qualification.ins, closed=closed)
            self._status = self.central.status(op.token, qualification.ins)
        except CentralUnreachableError:
            self._say(NoticeCode.CLOSE_NEEDS_NETWORK)
            return
        except CentralRefusedError as exc:
            self._say(NoticeCode.CENTRAL_REFUSED, exc.reason)
            return
        self._say(NoticeCode.DMP_CLOSED if closed else NoticeCode.DMP_REOPENED)

    def finish(self) -> None:
        """The operator is done with this patient: forget them, wait for the next card."""
        self._touch()
        self._clear_patient()
        if self._operator is not None:
            self.step = Step.READY

    def tick(self) -> None:
        """Called every second or so: the idle timeout forgets the patient; a creation
        waiting for the service's answer learns it (the screen says "done" only then)."""
        if self._delivery is Delivery.PENDING and self._creation is not None:
            self._delivery = self.queue.delivery(self._creation)
        if self._patient_reader is None and self._chosen is None:
            return
        if self.clock() - self._last_activity >= self.idle_s:
            self._clear_patient()
            self.step = Step.READY if self._operator else Step.WELCOME
            self._say(NoticeCode.IDLE_TIMEOUT)

    # -- queue ---------------------------------------------------------------------------

    def _enqueue(self, payload: ActionPayload, *, session_id: str | None = None) -> object:
        op = self._operator
        return self.queue.enqueue(
            payload, session_id=session_id or (op.session_id if op else NO_SESSION)
        )
