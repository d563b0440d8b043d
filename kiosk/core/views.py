"""What the screens draw: immutable snapshots of the workflow, in codes and values.

Every decision a screen would otherwise take (which buttons exist, whether the operator may
tick "authorise me") is a `can_*` flag decided by the workflow; screens only draw them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from dmpcommon.vocabulary import (
    Authorisation,
    ContactChannel,
    CounterDocument,
    DmpStatus,
    IdentityDocument,
)
from kiosk.core.notices import Notice
from kiosk.core.ports import (
    Delivery,
    DocumentContent,
    RecordSummary,
    StrictTraits,
    SummaryDocument,
)

__all__ = [
    "AccessSheet",
    "Change",
    "ChangeView",
    "CounterView",
    "CreationForm",
    "DocumentFailure",
    "DocumentView",
    "HolderView",
    "OperatorView",
    "OtherRepresentative",
    "Step",
]


class Step(StrEnum):
    """Where the counter is; one screen each."""

    WELCOME = "welcome"  # no operator: insert the professional card
    PIN = "pin"  # professional card in: PIN pad
    READY = "ready"  # operator in: insert the patient's Carte Vitale
    HOLDERS = "holders"  # the card's holders: choose the person
    SEARCH = "search"  # a patient without a Vitale card: traits of an identity document
    PATIENT = "patient"  # identity and DMP status: create, open, finish
    IDENTITY_CHECK = "identity_check"  # which identity document the operator checked
    REPRESENTATIVE = "representative"  # a minor: who consents, before anything else
    INFORMATION = "information"  # the information text, before consent
    CONSENT = "consent"  # consent, emergency choices, contact, doctor
    CREATED = "created"  # the creation (or a new code) is in the queue: the access sheet
    BREAK_GLASS = "break_glass"  # the reason for an emergency opening
    CONFIRM = "confirm"  # what a change means ("le patient m'autorise", closing), then yes
    DOCUMENT = "document"  # a short form: vaccination, medication review, note, allergy
    CONTACT = "contact"  # a new notification contact
    DOCTOR = "doctor"  # a new treating doctor
    SUMMARY = "summary"  # the record's summary (health professionals only)
    VIEWER = "viewer"  # one of the summary's documents, opened (health professionals only)


class Change(StrEnum):
    """A change made at the counter on an existing DMP, sent through the queue."""

    AUTHORISE = "authorise"
    DOCUMENT = "document"
    CONTACT = "contact"
    DOCTOR = "doctor"
    CLOSE = "close"
    REOPEN = "reopen"
    IDENTITY = "identity"


@dataclass(frozen=True, slots=True)
class ChangeView:
    """The last change queued for this patient, as the service answered it: the screen says
    "done" only once it is accepted, and the refusal's reason when it is not."""

    change: Change
    delivery: Delivery
    reason: str | None = None  # the service's refusal code


class DocumentFailure(StrEnum):
    """Why an opened document is not shown (the viewer offers to try again)."""

    UNREACHABLE = "unreachable"  # no answer from the service (the network, a timeout)
    NOT_FOUND = "not_found"  # the service has no such document for this reader (any more)
    REFUSED = "refused"  # another refusal of the service (DocumentView.reason: its code)
    CORRUPT = "corrupt"  # the bytes received are not the file the summary listed (hash)
    UNREADABLE = "unreadable"  # the file came, but cannot be shown


@dataclass(frozen=True, slots=True)
class DocumentView:
    """The document opened from the summary: what is shown, or why not."""

    document: SummaryDocument
    content: DocumentContent | None = None
    failure: DocumentFailure | None = None
    reason: str | None = None  # the service's refusal code, for REFUSED


@dataclass(frozen=True, slots=True)
class OtherRepresentative:
    """A minor's representative who is not on the card: traits typed from the identity
    document the operator checked."""

    nom: str
    prenom: str
    birth_date: str  # YYYY-MM-DD
    document: IdentityDocument


@dataclass(frozen=True, slots=True)
class CreationForm:
    """What the patient chooses at creation; defaults are the law's and the patient's."""

    consent: bool = False  # a checkbox, never pre-ticked
    representative: int | None = None  # index in the card's holders (an adult), for a minor
    other_representative: OtherRepresentative | None = None  # or another adult, checked
    etreat: bool = True  # SAMU regulator may read in an emergency
    btg: bool = True  # break-glass access in an emergency
    masked: bool = True  # masked documents visible in an emergency
    contact_channel: ContactChannel | None = None
    contact_address: str = ""
    treating_doctor: str = ""  # the physician's RPPS number, optional
    authorise_operator: bool = False  # never without an explicit tap


@dataclass(frozen=True, slots=True)
class AccessSheet:
    """What the printed sheet tells the patient: how to get in, no health data."""

    nom: str
    prenom: str
    identifier: str
    activation_code: str
    etreat: bool
    btg: bool
    masked: bool
    online: bool  # False: "activated once the kiosk is back online"
    reissued: bool = False  # a new code for an existing DMP: the old one void
    issued_on: str = ""  # YYYY-MM-DD, the counter's day
    expires_on: str = ""  # YYYY-MM-DD: the activation code's last day
    counter: str = ""  # the operator's structure ("Pharmacie du Port, Lorient")
    operator: str = ""  # "Prénom NOM" of the operator who took the consent
    representative: str | None = None  # "Prénom NOM" of a minor's legal representative
    provisional: bool = False  # offline, DMP status unknown: the creation may be refused
    information_version: str = ""  # the information text the consent was given on


@dataclass(frozen=True, slots=True)
class HolderView:
    """One holder as the screen lists it."""

    nom: str
    prenom: str
    birth_date: str  # YYYY-MM-DD as the card says it
    minor: bool
    sex: str | None = None  # "F" | "M", from the NIR's first digit (None: not told)
    nir_ok: bool = True  # False: the card's NIR has a wrong key, never sent anywhere


@dataclass(frozen=True, slots=True)
class OperatorView:
    """Who is logged in."""

    nom: str
    prenom: str
    structure: str
    health_professional: bool
    regulator: bool


@dataclass(frozen=True, slots=True)
class CounterView:
    """An immutable snapshot for the screens."""

    step: Step
    notice: Notice | None = None
    operator: OperatorView | None = None
    online: bool = True
    pin_tries_left: int | None = None
    idle_warning_s: int | None = None  # seconds before the patient is wiped, when warned
    card_to_return: bool = False  # wiped while the Vitale card is still in: give it back
    vitale_waiting: bool = False  # a Vitale card in before login: read once logged in
    holders: tuple[HolderView, ...] = ()
    patient: HolderView | None = None
    identity_qualified: bool = False  # False for a patient: to qualify when back online
    identity_document: IdentityDocument | None = None  # checked: "qualifiée" with the INS
    traits: StrictTraits | None = None  # the register's strict traits, once qualified
    without_card: bool = False  # found by traits (no Vitale card at the counter)
    dmp: DmpStatus | None = None  # None: unknown (offline)
    authorisation: Authorisation | None = None
    minor: bool = False
    adults: tuple[tuple[int, HolderView], ...] = ()  # who may represent a minor
    form: CreationForm = field(default_factory=CreationForm)
    sheet: AccessSheet | None = None
    creation: Delivery | None = None  # the queued creation, as the service answered it
    creation_refusal: str | None = None  # the service's reason, when refused
    change: ChangeView | None = None  # the last change queued for this patient
    summary: RecordSummary | None = None
    viewing: DocumentView | None = None  # a document opened from the summary
    document_kind: CounterDocument | None = None  # the short form being filled in
    confirming: Change | None = None  # the change the confirmation screen explains
    can_create: bool = False
    can_open: bool = False
    can_open_as_regulator: bool = False
    can_break_glass: bool = False
    can_authorise_operator: bool = False
    can_reissue_activation: bool = False
    can_close: bool = False
    can_reopen: bool = False
    can_finish: bool = False
    can_authorise_self: bool = False  # "le patient m'autorise" on an existing DMP
    can_add_document: bool = False
    can_set_contact: bool = False
    can_set_doctor: bool = False
    can_check_identity: bool = False
    can_other_holder: bool = False  # back to the card's holders without pulling it
    can_search: bool = False  # a patient without a Vitale card
    status_unknown: bool = False  # offline: whether the patient has a DMP is not known
