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
import hashlib
import hmac
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from dmpcommon.actions import (
    DOCUMENT_CONTENT_MAX,
    NAME_MAX,
    ActionPayload,
    ActivationReissued,
    AuthorisationGranted,
    CardReadRefused,
    ConsentRecorded,
    ContactSet,
    DmpClosed,
    DmpCreated,
    DmpOpened,
    DmpReopened,
    DocumentAdded,
    EmergencyChoices,
    IdentityChecked,
    IdentitySearch,
    IdentityToQualify,
    NotificationContact,
    OperatorSessionClosed,
    OperatorSessionOpened,
    PatientPayload,
    RefusedCard,
    Representative,
    TreatingDoctorSet,
)
from dmpcommon.attestation import attestation_digest
from dmpcommon.contact import ContactError, normalise_contact
from dmpcommon.identifiers import (
    ACTIVATION_CODE_DAYS,
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
    ContactChannel,
    CounterDocument,
    DmpStatus,
    IdentityDocument,
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
    DocumentUnreadableError,
    PinBlockedError,
    PinError,
)
from kiosk.core.notices import Notice, NoticeCode, notice_for
from kiosk.core.ports import (
    CardPort,
    CentralPort,
    Delivery,
    DocumentReader,
    Qualification,
    QueuePort,
    RecordStatus,
    RecordSummary,
    SummaryDocument,
)
from kiosk.core.views import (
    AccessSheet,
    Change,
    ChangeView,
    CounterView,
    CreationForm,
    DocumentFailure,
    DocumentView,
    HolderView,
    OperatorView,
    OtherRepresentative,
    Step,
)

__all__ = [
    "IDLE_WARNING_S",
    "LONG_READING_FACTOR",
    "NO_SESSION",
    "CounterWorkflow",
    "parse_day",
]

NO_SESSION = "none"  # the session id of what happens with nobody logged in
IDLE_WARNING_S = 15  # "Êtes-vous toujours là ?" this long before the patient is wiped
# Screens a patient reads or fills in at their pace get this many times the idle time.
LONG_READING_FACTOR = 3
_LONG_READING = frozenset(
    {
        Step.INFORMATION,
        Step.CONSENT,
        Step.SUMMARY,
        Step.VIEWER,
        Step.DOCUMENT,
        Step.REPRESENTATIVE,
    }
)
RESUME_EVERY_S = 10.0  # offline: how often the operator's session is tried again


@dataclass
class _Operator:
    card: OperatorCard
    reader: str
    session_id: str
    token: str | None  # None: logged in offline, the login goes through the queue
    role: Role | None
    resumable: bool = True  # False: the service ended the session, no point asking again


@dataclass
class _Pending:
    """A change queued for this patient, until the service answers it."""

    change: Change
    entry: object
    delivery: Delivery = Delivery.PENDING
    reason: str | None = None


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
    authorise_self: bool = False
    add_document: bool = False
    set_contact: bool = False
    set_doctor: bool = False
    check_identity: bool = False
    other_holder: bool = False
    search: bool = False


def _sex_of(nir: str) -> str | None:
    """The sex the NIR's first digit tells (1/3/7 a man, 2/4/8 a woman)."""
    return {"1": "M", "3": "M", "7": "M", "2": "F", "4": "F", "8": "F"}.get(nir[:1])


def _holder_view(
    holder: RetrievedIdentity, today: dt.date, qualification: Qualification | None = None
) -> HolderView:
    minor = holder.minor_on(today)
    # The register's sex once qualified; else the NIR's, but only an adult's: a child's card
    # carries a parent's NIR, whose sex is the parent's.
    if qualification is not None and qualification.traits is not None:
        sex: str | None = qualification.traits.sexe
    else:
        sex = None if minor else _sex_of(holder.nir)
    return HolderView(holder.nom, holder.prenom, holder.birth_date, minor, sex, holder.qualifiable)


def _initials(holder: RetrievedIdentity) -> str:
    """What the refused actions' list says of the patient: initials, nothing more."""
    return f"{holder.prenom[:1]}. {holder.nom[:1]}.".upper()


def _display_name(prenom: str, nom: str) -> str:
    return f"{prenom} {nom}".strip()


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
        activation_days: int = ACTIVATION_CODE_DAYS,
        clock: Callable[[], float] = time.monotonic,
        today: Callable[[], dt.date] = dt.date.today,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        reader: DocumentReader | None = None,
    ) -> None:
        self.kiosk_id = kiosk_id
        self.reader = reader  # None: documents are listed, not opened
        self.cards = cards
        self.central = central
        self.queue = queue
        self.idle_s = idle_s
        self.activation_days = activation_days
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
        self._vitale_waiting: str | None = None  # a Vitale card in before anyone logged in
        self._returning: str | None = None  # wiped by the timer, the card still in its reader
        self._last_resume = clock()
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
        self._creation_refusal: str | None = None
        self._summary: RecordSummary | None = None
        # How the record was opened (mode, and a break-glass reason): its documents are
        # fetched the same way, and the reason goes with the patient.
        self._opened_with: tuple[AccessMode, BreakGlassReason | None, str | None] | None = None
        self._viewing: DocumentView | None = None
        self._identity_document: IdentityDocument | None = None
        self._without_card = False
        self._pending: _Pending | None = None
        self._document_kind: CounterDocument | None = None
        self._confirming: Change | None = None

    def _touch(self) -> None:
        self._last_activity = self.clock()
        self.notice = None

    def _idle_limit(self) -> float:
        return self.idle_s * (LONG_READING_FACTOR if self.step in _LONG_READING else 1)

    def _holds_patient(self) -> bool:
        """Whether anything of a patient is on screen (a card, a person, traits typed)."""
        return (
            self._holder is not None or self._patient_reader is not None or self.step is Step.SEARCH
        )

    def _idle_warning(self) -> int | None:
        """Seconds left before the patient is wiped, once inside the warning."""
        if not self._holds_patient():
            return None
        left = self._idle_limit() - (self.clock() - self._last_activity)
        return max(0, int(left + 0.999)) if left <= IDLE_WARNING_S else None

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
        # Another person of the same card (the second child), the card still in.
        other_holder = self._patient_reader is not None and len(self._holders) > 1
        if op is None or holder is None or self.step is not Step.PATIENT:
            after = self.step in (Step.CREATED, Step.SUMMARY, Step.VIEWER)
            return _Capabilities(
                authorise_operator=authorisable,
                finish=after,
                search=op is not None and self.step is Step.READY and op.token is not None,
                other_holder=op is not None and after and other_holder,
            )
        online = op.token is not None and self._qualification is not None
        valid = status is not None and status.dmp is DmpStatus.VALID
        exists = status is not None and status.dmp is not DmpStatus.NONE
        authorisation = status.authorisation if status else None
        # One change at a time: the next waits for the service's answer to the last. A
        # patient found without a card may have a DMP created, not its access changed
        # (traits anyone could type are no proof of presence: central.dmp.changes).
        free = (
            self._pending is None or self._pending.delivery is not Delivery.PENDING
        ) and not self._without_card
        return _Capabilities(
            # Offline the status is unknown: creation is offered with a warning and a
            # provisional sheet (the service refuses it if there was a DMP).
            create=status is None or status.dmp is DmpStatus.NONE,
            open=professional and online and valid and authorisation is Authorisation.AUTHORISED,
            open_as_regulator=professional and online and valid and op.role is Role.SAMU_REGULATOR,
            break_glass=(
                professional and online and valid and authorisation is Authorisation.NOT_AUTHORISED
            ),
            authorise_operator=authorisable,
            # A lost sheet or a locked-out patient: a new code, the patient at the counter.
            reissue_activation=exists and free,
            # At the patient's request, the patient here: the patient's own pages do it too.
            close=valid and free,
            reopen=status is not None and status.dmp is DmpStatus.CLOSED and free,
            finish=True,
            authorise_self=(
                authorisable and valid and authorisation is Authorisation.NOT_AUTHORISED and free
            ),
            add_document=(
                professional and valid and authorisation is Authorisation.AUTHORISED and free
            ),
            set_contact=valid and free,
            set_doctor=valid and free,
            check_identity=self._identity_document is None,
            other_holder=other_holder,
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
            idle_warning_s=self._idle_warning(),
            card_to_return=self._returning is not None,
            vitale_waiting=self._vitale_waiting is not None,
            holders=tuple(_holder_view(h, today) for h in self._holders),
            patient=_holder_view(holder, today, self._qualification) if holder else None,
            identity_qualified=self._qualification is not None,
            identity_document=self._identity_document,
            traits=self._qualification.traits if self._qualification else None,
            without_card=self._without_card,
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
            creation_refusal=self._creation_refusal,
            change=(
                ChangeView(self._pending.change, self._pending.delivery, self._pending.reason)
                if self._pending
                else None
            ),
            summary=self._summary,
            viewing=self._viewing,
            document_kind=self._document_kind,
            confirming=self._confirming,
            can_create=can.create,
            can_open=can.open,
            can_open_as_regulator=can.open_as_regulator,
            can_break_glass=can.break_glass,
            can_authorise_operator=can.authorise_operator,
            can_reissue_activation=can.reissue_activation,
            can_close=can.close,
            can_reopen=can.reopen,
            can_finish=can.finish,
            can_authorise_self=can.authorise_self,
            can_add_document=can.add_document,
            can_set_contact=can.set_contact,
            can_set_doctor=can.set_doctor,
            can_check_identity=can.check_identity,
            can_other_holder=can.other_holder,
            can_search=can.search,
            status_unknown=holder is not None and self._status is None,
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
        elif reader == self._vitale_waiting:
            self._vitale_waiting = None
        elif reader == self._returning:
            self._returning = None  # given back: nothing to say
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
            # Read once someone logs in: the patient need not pull it out and back.
            self._vitale_waiting = reader
            self._say(NoticeCode.VITALE_WAITING)
            return
        if self._patient_reader is not None or self._holder is not None:
            self._say(NoticeCode.ONE_PATIENT_AT_A_TIME)
            return
        self._returning = None
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
        self._last_resume = self.clock()
        self.step = Step.READY
        if token is None:
            self._say(NoticeCode.OFFLINE_LOGIN)
        waiting, self._vitale_waiting = self._vitale_waiting, None
        if waiting is not None:
            notice = self.notice
            self._patient_in(waiting)
            self.notice = self.notice or notice

    def sign_out(self) -> None:
        """ "Se déconnecter", the card still in: the session closes, the card must come out
        before anyone logs in again."""
        self._touch()
        if self._operator is None:
            return
        patient_card = self._patient_reader
        self.logout()
        self._returning = patient_card
        self._say(NoticeCode.SIGNED_OUT)

    def logout(self) -> None:
        """The professional card left, or the operator logs out: close the session."""
        op = self._operator
        if op is not None:
            self._enqueue(OperatorSessionClosed(), session_id=op.session_id)
        self._operator = None
        self._forget_pin_card()
        self._clear_patient()
        self._returning = None
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
        self._identity_document, self._pending = None, None
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

    def other_holder(self) -> None:
        """Another person of the same card (a second child, the parent): back to the list
        without pulling the card out."""
        self._touch()
        if not self._capabilities().other_holder:
            return
        reader, holders = self._patient_reader, self._holders
        self._clear_patient()
        self._patient_reader, self._holders = reader, holders
        self.step = Step.HOLDERS

    def back_to_patient(self) -> None:
        """ "Retour au patient" from the summary (or any side screen)."""
        self.back()

    # -- a patient without a Vitale card ----------------------------------------------------

    def start_search(self) -> None:
        """A patient without a Vitale card: the traits of a checked identity document."""
        self._touch()
        if self._capabilities().search:
            self.step = Step.SEARCH
        elif self.step is Step.READY and self._operator is not None:
            self._say(NoticeCode.SEARCH_NEEDS_NETWORK)

    def search_form(
        self,
        *,
        nom: str,
        prenom: str,
        birth_date: str,
        sexe: str,
        birth_place: str,
        document: IdentityDocument | None,
    ) -> None:
        """The search screen's fields as typed: each problem said beside its field."""
        self._touch()
        if self.step is not Step.SEARCH:
            return
        for field, value in (("nom", nom), ("prenom", prenom)):
            problem = _name_problem(value)
            if problem is not None:
                self.notice = Notice(problem, field=field)
                return
        day = parse_day(birth_date)
        if day is None or day > self.today():
            self.notice = Notice(NoticeCode.DATE_INVALID, field="birth_date")
            return
        if document is IdentityDocument.FAMILY_RECORD_BOOK and not BirthDate.parse(
            day.isoformat()
        ).minor_on(self.today()):
            self.notice = Notice(NoticeCode.DOCUMENT_NOT_FOR_ADULT, field="document")
            return
        if sexe not in ("F", "M"):
            self.notice = Notice(NoticeCode.FIELD_REQUIRED, field="sexe")
            return
        place = birth_place.strip().upper() or None
        if document is None:
            self.notice = Notice(NoticeCode.FIELD_REQUIRED, field="document")
            return
        try:
            search = IdentitySearch.model_validate(
                {
                    "nom": nom.strip().upper(),
                    "prenom": prenom.strip().upper(),
                    "birth_date": day.isoformat(),
                    "sexe": sexe,
                    "birth_place": place,
                    "document": document,
                }
            )
        except ValueError:
            self.notice = Notice(NoticeCode.BIRTH_PLACE_INVALID, field="birth_place")
            return
        self.search_patient(search)

    def search_patient(self, search: IdentitySearch) -> None:
        """Look the patient up in the register by the document's traits (online only)."""
        self._touch()
        op = self._operator
        if op is None or self.step is not Step.SEARCH:
            return
        if op.token is None:
            self._say(NoticeCode.SEARCH_NEEDS_NETWORK)
            return
        try:
            qualification = self.central.search_identity(op.token, search)
            if qualification.status is not QualificationStatus.QUALIFIED or not qualification.ins:
                self._say(NoticeCode.IDENTITY_NOT_QUALIFIED, qualification.status.value)
                return
            status = self.central.status(op.token, qualification.ins)
        except CentralUnreachableError:
            self._went_offline()
            self._say(NoticeCode.SEARCH_NEEDS_NETWORK)
            return
        except CentralRefusedError as exc:
            self.notice = notice_for(exc)
            return
        self._clear_patient()
        # The person as the document names them; no NIR: every action names the INS.
        self._holders = (
            RetrievedIdentity(search.nom, search.prenom, search.birth_date, "", nir_valid=False),
        )
        self._chosen, self._without_card = 0, True
        self._qualification, self._status = qualification, status
        self._identity_document = search.document
        self._enqueue(IdentityChecked(ins=qualification.ins, document=search.document))
        self.step = Step.PATIENT

    # -- identity vigilance ----------------------------------------------------------------

    def ask_identity_check(self) -> None:
        """Which identity document the operator checked."""
        self._touch()
        if self._capabilities().check_identity:
            self.step = Step.IDENTITY_CHECK

    def check_identity(self, document: IdentityDocument) -> None:
        """The operator saw this identity document: with the register's answer, the
        identity is "qualifiée"; the service traces it."""
        self._touch()
        holder = self._holder
        if self.step is not Step.IDENTITY_CHECK or holder is None:
            return
        if document is IdentityDocument.FAMILY_RECORD_BOOK and not holder.minor_on(self.today()):
            self.notice = Notice(NoticeCode.DOCUMENT_NOT_FOR_ADULT, field="document")
            return
        self._identity_document = document
        self._enqueue(IdentityChecked(**self._patient(), document=document))
        self.step = Step.PATIENT

    # -- creation --------------------------------------------------------------------------

    def start_creation(self) -> None:
        """The operator starts a creation: a minor's representative first, then the
        information text."""
        self._touch()
        if not self._capabilities().create:
            return
        holder = self._holder
        minor = holder is not None and holder.minor_on(self.today())
        self.step = Step.REPRESENTATIVE if minor else Step.INFORMATION

    def choose_representative(self, index: int) -> None:
        """A minor's representative: an adult of the card."""
        self._touch()
        if self.step is not Step.REPRESENTATIVE:
            return
        form = replace(self._form, representative=index, other_representative=None)
        if self._representative(form) is None:
            self._say(NoticeCode.REPRESENTATIVE_INVALID, "representative_required")
            return
        self._take_representative(form)

    def declare_representative(self, other: OtherRepresentative) -> None:
        """A minor's representative who is not on the card (the other parent): traits typed
        from the identity document the operator checked."""
        self._touch()
        if self.step is not Step.REPRESENTATIVE:
            return
        for name, value in (("rep_nom", other.nom), ("rep_prenom", other.prenom)):
            problem = _name_problem(value)
            if problem is not None:
                self.notice = Notice(problem, field=name)
                return
        if other.document is IdentityDocument.FAMILY_RECORD_BOOK:  # it proves a child, not them
            self.notice = Notice(NoticeCode.DOCUMENT_NOT_FOR_ADULT, field="rep_document")
            return
        day = parse_day(other.birth_date)
        if day is None:
            self.notice = Notice(NoticeCode.DATE_INVALID, field="rep_birth_date")
            return
        cleaned = OtherRepresentative(
            other.nom.strip().upper(), other.prenom.strip(), day.isoformat(), other.document
        )
        self._take_representative(
            replace(self._form, representative=None, other_representative=cleaned)
        )

    def _take_representative(self, form: CreationForm) -> None:
        """The representative the form names, if the consent rules take them: then the
        information text."""
        problem = self._representative_problem(form)
        if problem is not None:
            self.notice = problem
            return
        self._form = form
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
        if self.step in (Step.CONSENT, Step.REPRESENTATIVE):
            self._form = replace(self._form, **changes)

    def back(self) -> None:
        """Back to the patient screen from any screen about this patient."""
        self._touch()
        if self.step is Step.VIEWER:
            self.close_document()
        elif self.step in (
            Step.INFORMATION,
            Step.CONSENT,
            Step.BREAK_GLASS,
            Step.SUMMARY,
            Step.REPRESENTATIVE,
            Step.IDENTITY_CHECK,
            Step.CONFIRM,
            Step.DOCUMENT,
            Step.CONTACT,
            Step.DOCTOR,
        ):
            self._summary, self._document_kind, self._confirming = None, None, None
            self._opened_with = None
            self.step = Step.PATIENT
        elif self.step is Step.SEARCH:
            self.step = Step.READY
        elif self.step is Step.CREATED and self._holder is not None:
            if self._delivery is Delivery.PENDING:
                return  # the patient's status is known once the service answered
            self._sheet, self._creation, self._delivery = None, None, None
            self._creation_refusal = None
            self.step = Step.PATIENT
            self._refresh_status()

    def _patient(self) -> dict[str, Any]:
        """How an action names the patient: the INS, or the card's traits to qualify."""
        holder = self._holder
        if self._qualification is not None and self._qualification.ins:
            return {"ins": self._qualification.ins}
        if holder is None:  # every caller checked that a patient is chosen
            raise RuntimeError("no patient")
        return {"identity": holder.traits()}

    def _sheet_for(
        self, holder: RetrievedIdentity, identifier: str, code: str, **extra: Any
    ) -> AccessSheet:
        op = self._operator
        today = self.today()
        identity = op.card.identity if op else None
        return AccessSheet(
            nom=holder.nom,
            prenom=holder.prenom,
            identifier=identifier,
            activation_code=code,
            online=op is not None and op.token is not None,
            issued_on=today.isoformat(),
            expires_on=(today + dt.timedelta(days=self.activation_days)).isoformat(),
            counter=identity.structure_name if identity else "",
            operator=_display_name(identity.prenom, identity.nom) if identity else "",
            **extra,
        )

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
        patient = self._patient()
        representative = self._chosen_representative(form)
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
        self._delivery, self._creation_refusal = Delivery.PENDING, None
        self._sheet = self._sheet_for(
            holder,
            identifier,
            code,
            etreat=form.etreat,
            btg=form.btg,
            masked=form.masked,
            representative=(
                _display_name(representative.prenom, representative.nom) if representative else None
            ),
            provisional=self._status is None,
            information_version=version,
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

    def _chosen_representative(self, form: CreationForm) -> Representative | None:
        """The representative as the consent records them: from the card, or checked."""
        holder = self._representative(form)
        if holder is not None:
            return Representative.of_card(holder.traits())
        other = form.other_representative
        if other is None:
            return None
        return Representative(
            nom=other.nom,
            prenom=other.prenom,
            birth_date=other.birth_date,
            identity_document=other.document,
        )

    def _representative_problem(self, form: CreationForm) -> Notice | None:
        holder = self._holder
        if holder is None:
            return Notice(NoticeCode.REPRESENTATIVE_INVALID, "representative_required")
        representative = self._chosen_representative(form)
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
        return None

    def _form_problem(self, holder: RetrievedIdentity, form: CreationForm) -> Notice | None:
        if not form.consent:
            return Notice(NoticeCode.CONSENT_REQUIRED, field="consent")
        problem = self._representative_problem(form)
        if problem is not None:
            return problem
        if form.contact_channel:
            try:
                normalise_contact(form.contact_channel, form.contact_address)
            except ContactError as exc:
                return Notice(NoticeCode.CONTACT_INVALID, exc.problem.value, field="address")
        if form.treating_doctor.strip():
            try:
                id_nat_of_rpps(form.treating_doctor)
            except IdentifierError as exc:
                return Notice(NoticeCode.DOCTOR_INVALID, exc.problem.value, field="doctor")
        return None

    # -- opening ---------------------------------------------------------------------------

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
            if reason_code is None:
                self.notice = Notice(NoticeCode.REASON_REQUIRED, field="reason")
                return
            if not _reason_ok(reason_text):
                self.notice = Notice(NoticeCode.REASON_REQUIRED, field="reason-text")
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
            self._went_offline()
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
        self._opened_with = (mode, reason_code, reason_text)
        self.step = Step.SUMMARY

    # -- a document of the summary, opened ---------------------------------------------------

    def open_document(self, document_id: str) -> None:
        """Fetch one of the summary's documents and make it drawable (on this thread: the
        network, the hash and the rendering never hold up the screen)."""
        self._touch()
        summary = self._summary
        if self.step is not Step.SUMMARY or summary is None:
            return
        document = next(
            (
                doc
                for _, docs in summary.sections
                for doc in docs
                if doc.id == document_id and doc.openable
            ),
            None,
        )
        if document is None:
            return
        self.step = Step.VIEWER
        self._show(self._fetch(document))

    def retry_document(self) -> None:
        """The retry the screen offers after a failed opening."""
        self._touch()
        viewing = self._viewing
        if self.step is Step.VIEWER and viewing is not None and viewing.failure is not None:
            self._show(self._fetch(viewing.document))

    def _show(self, viewing: DocumentView) -> None:
        # The session may have ended while fetching (the service said so on resuming): the
        # patient is gone then, and so is the document.
        if self.step is Step.VIEWER and self._summary is not None:
            self._viewing = viewing

    def close_document(self) -> None:
        """Back to the summary; the document leaves memory."""
        self._touch()
        if self.step is Step.VIEWER:
            self._viewing = None
            self.step = Step.SUMMARY

    def _fetch(self, document: SummaryDocument) -> DocumentView:
        op, qualification, opened = self._operator, self._qualification, self._opened_with
        if op is None or not op.card.identity.health_professional or opened is None:
            return DocumentView(document, failure=DocumentFailure.REFUSED)
        if op.token is None:  # lost with the network: the retry asks for it at once
            self._last_resume = self.clock() - RESUME_EVERY_S
            self._resume()
        if op.token is None or qualification is None or qualification.ins is None:
            return DocumentView(document, failure=DocumentFailure.UNREACHABLE)
        mode, reason_code, reason_text = opened
        try:
            fetched = self.central.document_file(
                op.token,
                qualification.ins,
                document.id,
                mode=mode,
                reason_code=reason_code,
                reason_text=reason_text,
            )
        except CentralUnreachableError:
            self._went_offline()
            return DocumentView(document, failure=DocumentFailure.UNREACHABLE)
        except CentralRefusedError as exc:
            if exc.reason == "no_document":
                return DocumentView(document, failure=DocumentFailure.NOT_FOUND)
            return DocumentView(document, failure=DocumentFailure.REFUSED, reason=exc.reason)
        if not hmac.compare_digest(hashlib.sha256(fetched.data).hexdigest(), document.sha256):
            return DocumentView(document, failure=DocumentFailure.CORRUPT)
        if self.reader is None:
            return DocumentView(document, failure=DocumentFailure.UNREADABLE)
        try:
            content = self.reader.read(document.kind, fetched.data)
        except DocumentUnreadableError:
            return DocumentView(document, failure=DocumentFailure.UNREADABLE)
        return DocumentView(document, content=content)

    # -- changes on an existing DMP (through the queue, "done" once the service says so) ----

    def ask_confirmation(self, change: Change) -> None:
        """A change whose meaning the patient must hear first ("le patient m'autorise",
        closing, reopening): the confirmation screen says it."""
        self._touch()
        can = self._capabilities()
        allowed = {
            Change.AUTHORISE: can.authorise_self,
            Change.CLOSE: can.close,
            Change.REOPEN: can.reopen,
        }
        if allowed.get(change, False):
            self._confirming = change
            self.step = Step.CONFIRM

    def confirm(self) -> None:
        """The patient agreed to the change the confirmation screen explained."""
        self._touch()
        change, op = self._confirming, self._operator
        if self.step is not Step.CONFIRM or change is None or op is None:
            return
        self._confirming = None
        self.step = Step.PATIENT
        if change is Change.AUTHORISE:
            payload: ActionPayload = AuthorisationGranted(
                **self._patient(), id_nat=op.card.identity.id_nat, patient_agreement=True
            )
        elif change is Change.CLOSE:
            payload = DmpClosed(**self._patient())
        else:
            payload = DmpReopened(**self._patient())
        self._queue_change(change, payload)

    def set_closed(self, closed: bool) -> None:
        """Close the DMP, or reopen it, at the patient's request (confirmed)."""
        self.ask_confirmation(Change.CLOSE if closed else Change.REOPEN)
        if self.step is Step.CONFIRM:
            self.confirm()

    def start_change(self, change: Change, kind: CounterDocument | None = None) -> None:
        """One of the short forms: a document, the contact, the treating doctor."""
        self._touch()
        can = self._capabilities()
        if change is Change.DOCUMENT and can.add_document:
            self._document_kind = kind  # None: the form asks which
            self.step = Step.DOCUMENT
        elif change is Change.CONTACT and can.set_contact:
            self.step = Step.CONTACT
        elif change is Change.DOCTOR and can.set_doctor:
            self.step = Step.DOCTOR

    def add_document(
        self,
        *,
        title: str,
        content: str,
        document_date: str,
        masked: bool = False,
        kind: CounterDocument | None = None,
    ) -> None:
        """File the short form's document (the service checks the authorisation again)."""
        self._touch()
        if self.step is not Step.DOCUMENT:
            return
        kind = kind or self._document_kind
        if kind is None:
            self.notice = Notice(NoticeCode.FIELD_REQUIRED, field="kind")
            return
        self._document_kind = kind
        title, content = title.strip(), content.strip()
        if not title:
            self.notice = Notice(NoticeCode.FIELD_REQUIRED, field="title")
            return
        if not content:
            self.notice = Notice(NoticeCode.FIELD_REQUIRED, field="content")
            return
        if len(content) > DOCUMENT_CONTENT_MAX or len(title) > 200:
            self.notice = Notice(NoticeCode.TEXT_TOO_LONG, field="content")
            return
        day = parse_day(document_date)
        if day is None:
            self.notice = Notice(NoticeCode.DATE_INVALID, field="document_date")
            return
        if day > self.today():
            self.notice = Notice(NoticeCode.DATE_IN_FUTURE, field="document_date")
            return
        payload = DocumentAdded(
            **self._patient(),
            kind=kind,
            title=title,
            content=content,
            document_date=day.isoformat(),
            masked=masked,
        )
        self._document_kind = None
        self.step = Step.PATIENT
        self._queue_change(Change.DOCUMENT, payload)

    def set_contact(self, channel: ContactChannel, address: str) -> None:
        """A new notification contact (the service tells the old one and the new)."""
        self._touch()
        if self.step is not Step.CONTACT:
            return
        try:
            canonical = normalise_contact(channel, address)
        except ContactError as exc:
            self.notice = Notice(NoticeCode.CONTACT_INVALID, exc.problem.value, field="address")
            return
        contact = NotificationContact(channel=channel, address=canonical)
        self.step = Step.PATIENT
        self._queue_change(Change.CONTACT, ContactSet(**self._patient(), contact=contact))

    def set_doctor(self, rpps: str) -> None:
        """A new treating doctor, named by RPPS."""
        self._touch()
        if self.step is not Step.DOCTOR:
            return
        try:
            id_nat = id_nat_of_rpps(rpps)
        except IdentifierError as exc:
            self.notice = Notice(NoticeCode.DOCTOR_INVALID, exc.problem.value, field="doctor")
            return
        self.step = Step.PATIENT
        self._queue_change(Change.DOCTOR, TreatingDoctorSet(**self._patient(), id_nat=id_nat))

    def reissue_activation(self) -> None:
        """A new access sheet for the patient's existing DMP: the kiosk draws the new
        identifier and code, prints them, and the old ones are void once the service
        applies it (the screen says "done" only then)."""
        self._touch()
        holder = self._holder
        if not self._capabilities().reissue_activation or holder is None:
            return
        identifier, code = new_access_identifier(), new_activation_code()
        payload = ActivationReissued(
            **self._patient(), access_identifier=identifier, activation_code=code
        )
        self._creation = self._enqueue(payload)
        self._delivery, self._creation_refusal = Delivery.PENDING, None
        self._sheet = self._sheet_for(
            holder, identifier, code, etreat=False, btg=False, masked=False, reissued=True
        )
        self.step = Step.CREATED

    def _queue_change(self, change: Change, payload: ActionPayload) -> None:
        self._pending = _Pending(change, self._enqueue(payload))

    def finish(self) -> None:
        """The operator is done with this patient: forget them, wait for the next card."""
        self._touch()
        reader = self._patient_reader
        self._clear_patient()
        if self._operator is not None:
            self.step = Step.READY
            self._returning = reader  # the card is still in: give it back

    # -- the clock -------------------------------------------------------------------------

    def tick(self) -> None:
        """Called every second or so: answers from the service for what was queued; the
        session back when the network is; the idle warning, then the wipe."""
        self._learn_answers()
        self._resume()
        if not self._holds_patient():
            return
        if self.clock() - self._last_activity >= self._idle_limit():
            reader = self._patient_reader
            self._clear_patient()
            self.step = Step.READY if self._operator else Step.WELCOME
            self._returning = reader
            self._say(NoticeCode.IDLE_TIMEOUT)

    def _learn_answers(self) -> None:
        if self._delivery is Delivery.PENDING and self._creation is not None:
            self._delivery = self.queue.delivery(self._creation)
            if self._delivery is Delivery.REJECTED:
                self._creation_refusal = self.queue.refusal(self._creation)
        pending = self._pending
        if pending is None or pending.delivery is not Delivery.PENDING:
            return
        pending.delivery = self.queue.delivery(pending.entry)
        if pending.delivery is Delivery.REJECTED:
            pending.reason = self.queue.refusal(pending.entry)
        elif pending.delivery is Delivery.ACCEPTED:
            self._refresh_status()

    def _refresh_status(self) -> None:
        """The DMP's status again, after a change the service applied."""
        op, qualification = self._operator, self._qualification
        if op is None or op.token is None or qualification is None or not qualification.ins:
            return
        try:
            self._status = self.central.status(op.token, qualification.ins)
        except CentralUnreachableError:
            self._went_offline()
        except CentralRefusedError as exc:
            self.notice = notice_for(exc)

    def _went_offline(self) -> None:
        """The network went during a live call: carry on offline, try again later."""
        if self._operator is not None:
            self._operator.token = None
            self._last_resume = self.clock()

    def _resume(self) -> None:
        """Offline, now and then: a token for the session, then the patient's identity and
        status if they were only queued."""
        op = self._operator
        if op is None or op.token is not None or not op.resumable:
            return
        if self.clock() - self._last_resume < RESUME_EVERY_S:
            return
        self._last_resume = self.clock()
        try:
            session = self.central.resume_session(op.session_id)
        except CentralUnreachableError:
            return
        except CentralRefusedError as exc:
            if exc.reason != "no_operator_session":  # not applied yet: ask again later
                # Ended at the service (closed, expired, card revoked): nothing done offline
                # in it would be accepted; the operator logs in again.
                op.resumable = False
                self.logout()
                self.notice = notice_for(exc)
            return
        op.token, op.role = session.token, session.role
        self._say(NoticeCode.BACK_ONLINE)
        holder = self._holder
        if holder is not None and self._qualification is None and holder.qualifiable:
            self._requalify(holder)

    def _requalify(self, holder: RetrievedIdentity) -> None:
        op = self._operator
        if op is None or op.token is None:
            return
        try:
            qualification = self.central.qualify(op.token, holder.traits())
            if qualification.status is QualificationStatus.QUALIFIED and qualification.ins:
                self._qualification = qualification
                self._status = self.central.status(op.token, qualification.ins)
        except CentralUnreachableError:
            self._went_offline()
        except CentralRefusedError:
            return  # still queued as "to qualify": the service will do it

    # -- queue ---------------------------------------------------------------------------

    def _enqueue(self, payload: ActionPayload, *, session_id: str | None = None) -> object:
        op, holder = self._operator, self._holder
        about_patient = isinstance(payload, (PatientPayload, IdentityToQualify, DmpOpened))
        return self.queue.enqueue(
            payload,
            session_id=session_id or (op.session_id if op else NO_SESSION),
            subject=_initials(holder) if holder is not None and about_patient else None,
        )


def _name_problem(value: str) -> NoticeCode | None:
    """A name typed at the counter: present, and no longer than the service takes."""
    value = value.strip()
    if not value:
        return NoticeCode.FIELD_REQUIRED
    if len(value) > NAME_MAX or not value.isprintable():
        return NoticeCode.NAME_INVALID
    return None


def parse_day(text: str) -> dt.date | None:
    """A date as the counter types it: JJ/MM/AAAA (or AAAA-MM-JJ); None if it is not one."""
    text = text.strip()
    try:
        if "/" in text:
            day, month, year = (int(part) for part in text.split("/"))
            return dt.date(year, month, day) if year >= 1000 else None
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _reason_ok(text: str | None) -> bool:
    """A break-glass reason someone wrote: long enough, and words, not "aaaaa"."""
    if not text or len(text) < REASON_TEXT_MIN:
        return False
    letters = [c.lower() for c in text if c.isalpha()]
    return len(letters) >= REASON_TEXT_MIN and len(set(letters)) >= 3 and " " in text.strip()
