"""What the screens draw: immutable snapshots of the workflow, in codes and values.

Every decision a screen would otherwise take (which buttons exist, whether the operator may
tick "authorise me") is a `can_*` flag decided by the workflow; screens only draw them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from dmpcommon.vocabulary import Authorisation, ContactChannel, DmpStatus
from kiosk.core.notices import Notice
from kiosk.core.ports import Delivery, RecordSummary

__all__ = [
    "AccessSheet",
    "CounterView",
    "CreationForm",
    "HolderView",
    "OperatorView",
    "Step",
]


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


@dataclass(frozen=True, slots=True)
class HolderView:
    """One holder as the screen lists it."""

    nom: str
    prenom: str
    birth_date: str  # YYYY-MM-DD as the card says it
    minor: bool


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
    holders: tuple[HolderView, ...] = ()
    patient: HolderView | None = None
    identity_qualified: bool = False  # False for a patient: to qualify when back online
    dmp: DmpStatus | None = None  # None: unknown (offline)
    authorisation: Authorisation | None = None
    minor: bool = False
    adults: tuple[tuple[int, HolderView], ...] = ()  # who may represent a minor
    form: CreationForm = field(default_factory=CreationForm)
    sheet: AccessSheet | None = None
    creation: Delivery | None = None  # the queued creation, as the service answered it
    summary: RecordSummary | None = None
    can_create: bool = False
    can_open: bool = False
    can_open_as_regulator: bool = False
    can_break_glass: bool = False
    can_authorise_operator: bool = False
    can_reissue_activation: bool = False
    can_close: bool = False
    can_reopen: bool = False
    can_finish: bool = False
