"""The counter workflow: a plain state machine that tests drive without Qt.

One `KioskSession` per kiosk. Its commands (a card in or out, a PIN, a tap) run one at a time
on the UI's worker thread, call the ports (cards, central service, queue) and move the state;
`view()` gives the screens an immutable snapshot. Every step that changes anything writes its
action to the queue before the state says it is done. Patient data lives in this object only
until the card is pulled out, "Terminer", or the idle timeout: then it is dropped.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from dmpcommon.attestation import attestation_digest
from dmpcommon.contact import ContactError, normalise_contact
from kiosk import messages
from kiosk.domain import ProfessionalIdentity, RetrievedIdentity
from kiosk.errors import (
    CardError,
    CentralRefusedError,
    CentralUnreachableError,
    PinBlockedError,
    PinError,
)
from kiosk.information import INFORMATION_VERSION
from kiosk.ports import CardPort, CentralPort, Qualification, QueuePort, RecordStatus

__all__ = ["AccessSheet", "CreationForm", "HolderView", "KioskSession", "SessionView", "Step"]

_IDENTIFIER_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # as the central service draws them
_RPPS = "0123456789"


class Step(StrEnum):
    """Where the counter is; one screen each."""

    WELCOME = "welcome"  # no operator: insert the professional card
    PIN = "pin"  # professional card in: PIN pad
    READY = "ready"  # operator in: insert the patient's Carte Vitale
    HOLDERS = "holders"  # the card's holders: choose the person
    PATIENT = "patient"  # identity and DMP status: create, open, finish
    INFORMATION = "information"  # the information text, before consent
    CONSENT = "consent"  # consent, representative, emergency choices, contact, doctor
    CREATED = "created"  # the creation is in the queue: the access sheet
    BREAK_GLASS = "break_glass"  # the reason for an emergency opening
    SUMMARY = "summary"  # the record's summary (health professionals only)


@dataclass(frozen=True, slots=True)
class CreationForm:
    """What the patient chooses at creation; defaults are the law's and the patient's."""

    consent: bool = False  # a checkbox, never pre-ticked
    representative: int | None = None  # index in the card's holders (an adult), for a minor
    etreat: bool = True  # SAMU regulator may read in an emergency
    btg: bool = True  # break-glass access in an emergency
    masked: bool = True  # masked documents visible in an emergency
    contact_channel: str | None = None  # "email" | "sms"
    contact_address: str = ""
    treating_doctor: str = ""  # RPPS (11 digits) or ADELI, optional
    authorise_operator: bool = False  # never without an explicit tap


@dataclass(frozen=True, slots=True)
class AccessSheet:
    """What the printed sheet tells the patient: how to get in, no health data."""

    patient: str
    identifier: str
    activation_code: str
    etreat: bool
    btg: bool
    masked: bool
    online: bool  # False: "activated once the kiosk is back online"


@dataclass(frozen=True, slots=True)
class HolderView:
    """One holder as the screen lists it."""

    label: str  # NOM Prénom: twins differ by first name
    birth_date: str
    minor: bool


@dataclass(frozen=True, slots=True)
class SessionView:
    """An immutable snapshot for the screens."""

    step: Step
    notice: str | None = None
    operator: str | None = None  # "Prénom NOM, structure"
    health_professional: bool = False
    regulator: bool = False
    online: bool = True
    pin_tries_left: int | None = None
    holders: tuple[HolderView, ...] = ()
    patient: HolderView | None = None
    to_qualify: bool = False
    dmp: str | None = None  # VALIDE | NON_EXISTE | FERME | None (offline)
    authorisation: str | None = None
    minor: bool = False
    adults: tuple[tuple[int, str], ...] = ()  # (holder index, label) for the representative
    form: CreationForm = field(default_factory=CreationForm)
    sheet: AccessSheet | None = None
    summary: dict[str, Any] | None = None


@dataclass
class _Operator:
    identity: ProfessionalIdentity
    reader: str
    session_id: str
    token: str | None  # None: logged in offline, the login goes through the queue
    role: str | None


def _label(holder: RetrievedIdentity) -> str:
    return f"{holder.nom} {holder.prenom.capitalize()}"


class KioskSession:
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
    ) -> None:
        self.kiosk_id = kiosk_id
        self.cards = cards
        self.central = central
        self.queue = queue
        self.idle_s = idle_s
        self.clock = clock
        self.today = today
        self.step = Step.WELCOME
        self.notice: str | None = None
        self._operator: _Operator | None = None
        self._pin_reader: str | None = None
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
        self._form = CreationForm()
        self._sheet: AccessSheet | None = None
        self._summary: dict[str, Any] | None = None

    def _touch(self) -> None:
        self._last_activity = self.clock()
        self.notice = None

    @property
    def _holder(self) -> RetrievedIdentity | None:
        return None if self._chosen is None else self._holders[self._chosen]

    def view(self) -> SessionView:
        """What the screens show now."""
        op = self._operator
        today = self.today()
        holder = self._holder
        return SessionView(
            step=self.step,
            notice=self.notice,
            operator=(
                f"{op.identity.prenom.capitalize()} {op.identity.nom}, {op.identity.structure_name}"
                if op
                else None
            ),
            health_professional=bool(op and op.identity.health_professional),
            regulator=bool(op and op.role == "regulateur_samu"),
            online=bool(op is None or op.token is not None),
            pin_tries_left=self._pin_tries,
            holders=tuple(
                HolderView(_label(h), h.birth_date, h.minor_on(today)) for h in self._holders
            ),
            patient=HolderView(_label(holder), holder.birth_date, holder.minor_on(today))
            if holder
            else None,
            to_qualify=self._qualification is None and holder is not None,
            dmp=self._status.dmp if self._status else None,
            authorisation=self._status.authorisation if self._status else None,
            minor=bool(holder and holder.minor_on(today)),
            adults=tuple(
                (i, _label(h))
                for i, h in enumerate(self._holders)
                if i != self._chosen and (h.age_on(today) or 0) >= 18
            ),
            form=self._form,
            sheet=self._sheet,
            summary=self._summary,
        )

    # -- cards ---------------------------------------------------------------------------

    def card_inserted(self, reader: str, family: str) -> None:
        """A card arrived; `family` is what its ATR says (kiosk.cardreader.atr.CardFamily)."""
        self._touch()
        if family == "professional":
            self._professional_in(reader)
        elif family == "vitale2":
            self._patient_in(reader)
        else:
            self.notice = messages.describe_card_family(family)
            if self._operator is not None:  # traced for the operator; no card data in it
                self._enqueue("card_read_refused", {"reason": family})

    def card_removed(self, reader: str) -> None:
        """A card left its reader."""
        self._touch()
        if self._operator is not None and reader == self._operator.reader:
            self.logout()
            self.notice = messages.OPERATOR_CARD_REMOVED
        elif reader == self._pin_reader:
            self._pin_reader, self._pin_tries = None, None
            self.step = Step.WELCOME
        elif reader == self._patient_reader:
            self._clear_patient()
            self.step = Step.READY if self._operator else Step.WELCOME
            self.notice = messages.PATIENT_CARD_REMOVED

    def _professional_in(self, reader: str) -> None:
        if self._operator is not None:
            self.notice = messages.OPERATOR_ALREADY_IN
            return
        try:
            self.cards.read_professional(reader)
            tries = self.cards.pin_tries_left(reader)
        except CardError as exc:
            self.notice = messages.describe_error(exc)
            return
        if tries == 0:
            self.notice = messages.describe_error(PinBlockedError("blocked"))
            return
        self._pin_reader, self._pin_tries = reader, tries
        self.step = Step.PIN

    def _patient_in(self, reader: str) -> None:
        if self._operator is None:
            self.notice = messages.LOGIN_FIRST
            return
        if self._patient_reader is not None:
            self.notice = messages.ONE_PATIENT_AT_A_TIME
            return
        try:
            holders = self.cards.read_vitale(reader)
        except CardError as exc:
            self.notice = messages.describe_error(exc)
            return
        self._clear_patient()
        self._patient_reader, self._holders = reader, holders
        self.step = Step.HOLDERS

    # -- operator ------------------------------------------------------------------------

    def submit_pin(self, pin: str) -> None:
        """The operator typed the PIN: verify, sign the session attestation, log in."""
        self._touch()
        reader = self._pin_reader
        if self.step is not Step.PIN or reader is None:
            return
        session_id = uuid.uuid4().hex
        issued_at = dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
        digest = attestation_digest(
            kiosk_id=self.kiosk_id, session_id=session_id, issued_at=issued_at
        )
        try:
            identity = self.cards.read_professional(reader)
            certificate, signature = self.cards.sign_attestation(reader, pin, digest)
        except PinBlockedError as exc:
            self._pin_reader, self._pin_tries = None, 0
            self.step = Step.WELCOME
            self.notice = messages.describe_error(exc)
            return
        except PinError as exc:
            self._pin_tries = exc.tries_left if exc.tries_left >= 0 else None
            self.notice = messages.describe_error(exc)
            return
        except CardError as exc:
            self.notice = messages.describe_error(exc)
            return
        token: str | None = None
        role: str | None = None
        try:
            online = self.central.open_session(
                kiosk_id=self.kiosk_id,
                session_id=session_id,
                issued_at=issued_at,
                certificate=certificate,
                signature=signature,
            )
            token, role = online.token, online.role
        except CentralUnreachableError:
            pass  # offline: the login reaches the service through the queue
        except CentralRefusedError as exc:
            self.step = Step.WELCOME
            self._pin_reader = None
            self.notice = messages.describe_error(exc)
            return
        # The login's trace, queued after the live login so that it can only reconcile it.
        self._enqueue(
            "operator_session_opened",
            {
                "issued_at": issued_at,
                "certificate": base64.b64encode(certificate).decode(),
                "signature": base64.b64encode(signature).decode(),
            },
            session_id=session_id,
        )
        self._operator = _Operator(identity, reader, session_id, token, role)
        self._pin_reader, self._pin_tries = None, None
        self.step = Step.READY
        if token is None:
            self.notice = messages.OFFLINE_LOGIN

    def logout(self) -> None:
        """The professional card left, or the operator logs out: close the session."""
        op = self._operator
        if op is not None:
            self._enqueue("operator_session_closed", {}, session_id=op.session_id)
        self._operator = None
        self._pin_reader, self._pin_tries = None, None
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
        self._chosen = index
        self._qualification, self._status = None, None
        traits = {
            "nom": holder.nom,
            "prenom": holder.prenom,
            "birth_date": holder.birth_date,
            "nir": holder.nir,
        }
        if op.token is not None:
            try:
                qualification = self.central.qualify(op.token, **traits)
                if qualification.status != "qualified" or qualification.ins is None:
                    self.notice = messages.identity_not_qualified(qualification.status)
                    self._chosen = None
                    return
                self._qualification = qualification
                self._status = self.central.status(op.token, qualification.ins)
            except CentralUnreachableError:
                op.token = None  # the network went: carry on offline
            except CentralRefusedError as exc:
                self.notice = messages.describe_error(exc)
                self._chosen = None
                return
        if self._qualification is None:
            self._enqueue("identity_to_qualify", traits)
            self.notice = messages.TO_QUALIFY
        self.step = Step.PATIENT

    def start_creation(self) -> None:
        """ "Créer le DMP": the information text first."""
        self._touch()
        # Offline the status is unknown: the service says "dmp_exists" if there was one.
        if self.step is Step.PATIENT and (self._status is None or self._status.dmp == "NON_EXISTE"):
            self.step = Step.INFORMATION

    def accept_information(self) -> None:
        """The patient read the information: the consent screen."""
        self._touch()
        if self.step is Step.INFORMATION:
            self.step = Step.CONSENT

    def update_form(self, **changes: Any) -> None:
        """A tap on the consent screen (consent, choices, contact...)."""
        self._touch()
        if self.step is Step.CONSENT:
            self._form = replace(self._form, **changes)

    def back(self) -> None:
        """Back from the information, consent or break-glass screens to the patient."""
        self._touch()
        if self.step in (Step.INFORMATION, Step.CONSENT, Step.BREAK_GLASS, Step.SUMMARY):
            self._summary = None
            self.step = Step.PATIENT

    def create(self) -> None:
        """Queue the consent and the creation; then the access sheet."""
        self._touch()
        op, holder, form = self._operator, self._holder, self._form
        if op is None or holder is None or self.step is not Step.CONSENT:
            return
        problem = self._form_problem(holder, form)
        if problem:
            self.notice = problem
            return
        patient = self._patient_ref(holder)
        representative = None
        if form.representative is not None:
            rep = self._holders[form.representative]
            representative = {
                "nom": rep.nom,
                "prenom": rep.prenom,
                "birth_date": rep.birth_date,
                "nir": rep.nir,
            }
        identifier = "".join(secrets.choice(_IDENTIFIER_ALPHABET) for _ in range(10))
        code = f"{secrets.randbelow(10**8):08d}"
        consent: dict[str, Any] = {**patient, "information_version": INFORMATION_VERSION}
        creation: dict[str, Any] = {
            **consent,
            "consent": True,
            "emergency": {"etreat": form.etreat, "btg": form.btg, "masked": form.masked},
            "authorised_professionals": [op.identity.id_nat] if form.authorise_operator else [],
            "access_identifier": identifier,
            "activation_code": code,
        }
        if representative:
            consent["representative"] = creation["representative"] = representative
        if form.contact_channel:
            creation["contact"] = {
                "channel": form.contact_channel,
                "address": normalise_contact(form.contact_channel, form.contact_address),
            }
        if form.treating_doctor:
            creation["treating_doctor"] = form.treating_doctor
        self._enqueue("consent_recorded", consent)
        self._enqueue("dmp_created", creation)
        self._sheet = AccessSheet(
            patient=_label(holder),
            identifier=identifier,
            activation_code=code,
            etreat=form.etreat,
            btg=form.btg,
            masked=form.masked,
            online=op.token is not None,
        )
        self.step = Step.CREATED

    def _form_problem(self, holder: RetrievedIdentity, form: CreationForm) -> str | None:
        today = self.today()
        if not form.consent:
            return messages.CONSENT_REQUIRED
        if holder.minor_on(today):
            rep = form.representative
            if rep is None or not 0 <= rep < len(self._holders) or rep == self._chosen:
                return messages.REPRESENTATIVE_REQUIRED
            if (self._holders[rep].age_on(today) or 0) < 18:
                return messages.REPRESENTATIVE_REQUIRED
        if form.contact_channel:
            try:
                normalise_contact(form.contact_channel, form.contact_address)
            except ContactError as exc:
                return messages.contact_invalid(str(exc))
        doctor = form.treating_doctor
        if doctor and not (len(doctor) in (9, 11) and all(c in _RPPS for c in doctor)):
            return messages.DOCTOR_INVALID
        return None

    def _patient_ref(self, holder: RetrievedIdentity) -> dict[str, Any]:
        if self._qualification is not None and self._qualification.ins:
            return {"ins": self._qualification.ins}
        return {
            "identity": {
                "nom": holder.nom,
                "prenom": holder.prenom,
                "birth_date": holder.birth_date,
                "nir": holder.nir,
            }
        }

    def ask_break_glass(self) -> None:
        """ "Accès d'urgence": the reason screen."""
        self._touch()
        if (
            self.step is Step.PATIENT
            and self._operator
            and self._operator.identity.health_professional
        ):
            self.step = Step.BREAK_GLASS

    def open_record(
        self, mode: str = "normal", reason_code: str | None = None, reason_text: str | None = None
    ) -> None:
        """Open the summary (online only; health professionals only), and trace it."""
        self._touch()
        op, qualification = self._operator, self._qualification
        if op is None or qualification is None or qualification.ins is None:
            return
        if not op.identity.health_professional:
            self.notice = messages.AGENT_NO_CONTENT
            return
        if mode == "bris_de_glace" and not (reason_code and reason_text and len(reason_text) >= 5):
            self.notice = messages.REASON_REQUIRED
            return
        if op.token is None:
            self.notice = messages.OPEN_NEEDS_NETWORK
            return
        try:
            summary = self.central.open_record(
                op.token,
                qualification.ins,
                mode=mode,
                reason_code=reason_code,
                reason_text=reason_text,
            )
        except CentralUnreachableError:
            self.notice = messages.OPEN_NEEDS_NETWORK
            return
        except CentralRefusedError as exc:
            self.notice = messages.open_refused(exc.code)
            return
        payload: dict[str, Any] = {"ins": qualification.ins, "mode": mode}
        if mode == "bris_de_glace":
            payload |= {"reason_code": reason_code, "reason_text": reason_text}
        self._enqueue("dmp_opened", payload)
        self._summary = summary
        self.step = Step.SUMMARY

    def finish(self) -> None:
        """ "Terminer": forget the patient, back to waiting for the next card."""
        self._touch()
        self._clear_patient()
        if self._operator is not None:
            self.step = Step.READY

    def tick(self) -> None:
        """Called every second or so: the idle timeout forgets the patient."""
        if self._patient_reader is None and self._chosen is None:
            return
        if self.clock() - self._last_activity >= self.idle_s:
            self._clear_patient()
            self.step = Step.READY if self._operator else Step.WELCOME
            self.notice = messages.IDLE_TIMEOUT

    # -- queue ---------------------------------------------------------------------------

    def _enqueue(
        self, action_type: str, payload: dict[str, Any], *, session_id: str | None = None
    ) -> None:
        op = self._operator
        self.queue.enqueue(
            action_type, payload, session_id=session_id or (op.session_id if op else "none")
        )
