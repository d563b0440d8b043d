"""The actions of the kiosk's queue: one typed payload per action type, on both ends.

The kiosk builds a payload with these classes, seals its JSON into an envelope (the envelope's
`type` is the payload's `action_type`); the central service opens it and reads it with the
same class. Nothing else defines what an action carries. A payload that does not validate is
refused alone, with its reason (`PayloadError`).

| action type              | payload                | emitted by the kiosk                 |
| ------------------------ | ---------------------- | ------------------------------------ |
| operator_session_opened  | OperatorSessionOpened  | at every login (the card's signature)|
| operator_session_closed  | OperatorSessionClosed  | at every logout                      |
| identity_to_qualify      | IdentityToQualify      | traits read offline                  |
| consent_recorded         | ConsentRecorded        | at creation                          |
| dmp_created              | DmpCreated             | at creation                          |
| authorisation_granted    | AuthorisationGranted   | "le patient m'autorise"              |
| authorisation_revoked    | AuthorisationRevoked   | not yet                              |
| contact_set              | ContactSet             | a new notification contact           |
| treating_doctor_set      | TreatingDoctorSet      | a new treating doctor                |
| dmp_opened               | DmpOpened              | at every opening                     |
| card_read_refused        | CardReadRefused        | a card the kiosk does not read       |
| identity_checked         | IdentityChecked        | an identity document checked         |
| document_added           | DocumentAdded          | a short form filed at the counter    |
| dmp_closed               | DmpClosed              | closed at the patient's request      |
| dmp_reopened             | DmpReopened            | reopened at the patient's request    |
| activation_reissued      | ActivationReissued     | a new access sheet (old code void)   |

A patient is named by a qualified INS, or, when the kiosk could not qualify them online, by
the traits read from the card (`identity`): the service qualifies them when the action
arrives. Payloads are sealed: they never touch the kiosk's disk in clear.
"""

from __future__ import annotations

import binascii
import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from dmpcommon.contact import ContactError, normalise_contact
from dmpcommon.identifiers import (
    ACCESS_IDENTIFIER_PATTERN,
    ACTIVATION_CODE_PATTERN,
    IdentifierError,
    IdNatType,
    check_health_professional_id_nat,
)
from dmpcommon.nir import InvalidNirError, check_nir
from dmpcommon.people import BIRTH_DATE_PATTERN, BirthDate
from dmpcommon.vocabulary import (
    REASON_TEXT_MAX,
    REASON_TEXT_MIN,
    AccessMode,
    BreakGlassReason,
    ContactChannel,
    CounterDocument,
    IdentityDocument,
)

__all__ = [
    "DOCUMENT_CONTENT_MAX",
    "NAME_MAX",
    "PAYLOAD_TYPES",
    "ActionPayload",
    "ActionType",
    "ActivationReissued",
    "AuthorisationGranted",
    "AuthorisationRevoked",
    "CardReadRefused",
    "CardTraits",
    "ConsentRecorded",
    "ContactSet",
    "DmpClosed",
    "DmpCreated",
    "DmpOpened",
    "DmpReopened",
    "DocumentAdded",
    "EmergencyChoices",
    "IdentityChecked",
    "IdentitySearch",
    "IdentityToQualify",
    "NotificationContact",
    "OperatorSessionClosed",
    "OperatorSessionOpened",
    "PatientPayload",
    "PayloadError",
    "RefusedCard",
    "Representative",
    "TreatingDoctorSet",
    "build_payload_types",
    "decode_payload",
    "encode_payload",
]


class ActionType(StrEnum):
    """The envelope's `type`: which payload it seals."""

    OPERATOR_SESSION_OPENED = "operator_session_opened"
    OPERATOR_SESSION_CLOSED = "operator_session_closed"
    IDENTITY_TO_QUALIFY = "identity_to_qualify"
    CONSENT_RECORDED = "consent_recorded"
    DMP_CREATED = "dmp_created"
    AUTHORISATION_GRANTED = "authorisation_granted"
    AUTHORISATION_REVOKED = "authorisation_revoked"
    CONTACT_SET = "contact_set"
    TREATING_DOCTOR_SET = "treating_doctor_set"
    DMP_OPENED = "dmp_opened"
    CARD_READ_REFUSED = "card_read_refused"
    IDENTITY_CHECKED = "identity_checked"
    DOCUMENT_ADDED = "document_added"
    DMP_CLOSED = "dmp_closed"
    DMP_REOPENED = "dmp_reopened"
    ACTIVATION_REISSUED = "activation_reissued"


class RefusedCard(StrEnum):
    """A card the kiosk recognised and refused (no data read from it)."""

    VITALE1 = "vitale1"
    APCV = "apcv"
    UNKNOWN = "unknown"


class PayloadError(ValueError):
    """A payload refused: `reason` is a code, `field` where (dotted path), if anywhere."""

    def __init__(self, reason: str, field: str = "") -> None:
        super().__init__(f"{reason}:{field}" if field else reason)
        self.reason = reason
        self.field = field

    @property
    def code(self) -> str:
        """What the receipt says: the reason, and the field when there is one."""
        return str(self)


# -- field rules (each written once: dmpcommon's nir, people, identifiers, contact) -----------


def _nir(value: str) -> str:
    try:
        return check_nir(value)
    except InvalidNirError as exc:
        raise ValueError(f"nir_{exc.reason}") from exc


def _birth_date(value: str) -> str:
    BirthDate.parse(value)  # a year at least; unknown day or month allowed
    return value


def _professional(value: str) -> str:
    try:
        return check_health_professional_id_nat(value)
    except IdentifierError as exc:
        raise ValueError(f"id_nat_{exc.problem.value}") from exc


def _physician(value: str) -> str:
    # Physicians are all in the RPPS: a treating doctor is named by "8" + RPPS.
    checked = _professional(value)
    if not checked.startswith(IdNatType.RPPS):
        raise ValueError("id_nat_not_rpps")
    return checked


def _base64(value: str) -> str:
    try:
        binascii.a2b_base64(value, strict_mode=True)
    except binascii.Error as exc:
        raise ValueError("not_base64") from exc
    return value


def _date(value: str) -> str:
    try:
        dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("not_a_date") from exc
    return value


def _utc_time(value: str) -> str:
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("not_a_time") from exc
    if parsed.tzinfo is None:
        raise ValueError("time_without_zone")
    return value


Nir = Annotated[str, Field(min_length=15, max_length=15), AfterValidator(_nir)]
NAME_MAX = 120
Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX, pattern=r"^[^\x00-\x1f\x7f]+$")]
BirthDateText = Annotated[str, Field(pattern=BIRTH_DATE_PATTERN), AfterValidator(_birth_date)]
ProfessionalIdNat = Annotated[str, Field(max_length=12), AfterValidator(_professional)]
PhysicianIdNat = Annotated[str, Field(max_length=12), AfterValidator(_physician)]
DOCUMENT_CONTENT_MAX = 4000  # a short form's text; files come through other doors
DocumentText = Annotated[str, Field(min_length=1, max_length=DOCUMENT_CONTENT_MAX)]
DocumentTitle = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
IsoDate = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"), AfterValidator(_date)]
InformationVersion = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z.-]+$")]

_STRICT = ConfigDict(extra="forbid", strict=True, frozen=True)
# The payloads' validators are built at their first use, not at import: the kiosk shows its
# first screen sooner (docs/PERFORMANCE.md) and builds them on its workflow thread. The
# models the service also takes as request bodies (traits, choices, contact) are built now.
_DEFERRED = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


class CardTraits(BaseModel):
    """A retrieved identity as a Carte Vitale gives it (a child's NIR is often a parent's)."""

    model_config = _STRICT
    nom: Name
    prenom: Name
    birth_date: BirthDateText
    nir: Nir


class IdentitySearch(BaseModel):
    """A patient without a Vitale card (forgotten, none yet): the strict traits read from the
    identity document the operator checked, to look up in the register (no NIR)."""

    model_config = _STRICT
    nom: Name  # birth name
    prenom: Name  # first first name
    birth_date: BirthDateText
    sexe: Literal["F", "M"]
    birth_place: str | None = Field(default=None, pattern=r"^(?:[0-9]{2}|2[AB])[0-9]{3}$")  # INSEE
    document: IdentityDocument = Field(strict=False)  # the one checked, traced with the search


class Representative(BaseModel):
    """A minor's legal representative: an adult of the child's Vitale card (with its NIR), or
    another adult (the other parent) whose identity document the operator checked."""

    model_config = _STRICT
    nom: Name
    prenom: Name
    birth_date: BirthDateText
    nir: Nir | None = None
    identity_document: IdentityDocument | None = Field(default=None, strict=False)

    @model_validator(mode="after")
    def _proven(self) -> Self:
        if self.nir is None and self.identity_document is None:
            raise ValueError("representative_unproven")
        return self

    @classmethod
    def of_card(cls, traits: CardTraits) -> Representative:
        """A holder of the card, as representative."""
        return cls(
            nom=traits.nom, prenom=traits.prenom, birth_date=traits.birth_date, nir=traits.nir
        )


class EmergencyChoices(BaseModel):
    """Each on by default; the patient may untick."""

    model_config = _STRICT
    etreat: bool = True  # the SAMU regulator may read
    btg: bool = True  # break-glass access
    masked: bool = True  # masked documents visible in those emergencies


class NotificationContact(BaseModel):
    """An e-mail address or a French mobile number, in canonical form."""

    model_config = _STRICT
    channel: ContactChannel = Field(strict=False)  # the enum or its value (HTTP bodies)
    address: str = Field(min_length=3, max_length=254)

    @model_validator(mode="after")
    def _canonical(self) -> Self:
        try:
            canonical = normalise_contact(self.channel, self.address)
        except ContactError as exc:
            raise ValueError(exc.problem.value) from exc
        object.__setattr__(self, "address", canonical)  # frozen: set once, while validating
        return self


def _holds_nul(value: object) -> bool:
    """Whether a NUL character hides anywhere in a payload (no database text takes one)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, BaseModel):
        return _holds_nul(value.model_dump())
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_holds_nul(v) for v in value)
    return False


class ActionPayload(BaseModel):
    """What one action carries; `action_type` names it in the envelope."""

    model_config = _DEFERRED
    action_type: ClassVar[ActionType]

    @model_validator(mode="after")
    def _no_nul(self) -> Self:
        # After the fields' own rules (a name's pattern names its field first): this catches
        # the free texts that have none.
        if _holds_nul(self):
            raise ValueError("nul_character")
        return self


class PatientPayload(ActionPayload):
    """An action about a patient: a qualified INS, or the card's traits to qualify."""

    ins: Nir | None = None
    identity: CardTraits | None = None

    @model_validator(mode="after")
    def _one_patient(self) -> Self:
        if (self.ins is None) == (self.identity is None):
            raise ValueError("ins_or_identity")
        return self


class OperatorSessionOpened(ActionPayload):
    """The card's signed attestation of the login (the service verifies it)."""

    action_type = ActionType.OPERATOR_SESSION_OPENED
    issued_at: Annotated[str, Field(max_length=40), AfterValidator(_utc_time)]
    certificate: Annotated[str, Field(min_length=4, max_length=16_000), AfterValidator(_base64)]
    signature: Annotated[str, Field(min_length=4, max_length=200), AfterValidator(_base64)]


class OperatorSessionClosed(ActionPayload):
    """The operator logged out (card pulled out, or "Terminer" on the last patient)."""

    action_type = ActionType.OPERATOR_SESSION_CLOSED


class IdentityToQualify(ActionPayload):
    """Card traits read offline: the service qualifies them and traces it."""

    action_type = ActionType.IDENTITY_TO_QUALIFY
    nom: Name
    prenom: Name
    birth_date: BirthDateText
    nir: Nir

    @classmethod
    def of(cls, traits: CardTraits) -> IdentityToQualify:
        """The action for these traits."""
        return cls(
            nom=traits.nom, prenom=traits.prenom, birth_date=traits.birth_date, nir=traits.nir
        )

    def traits(self) -> CardTraits:
        """The traits to qualify."""
        return CardTraits(
            nom=self.nom, prenom=self.prenom, birth_date=self.birth_date, nir=self.nir
        )


class ConsentRecorded(PatientPayload):
    """The patient (or a minor's legal representative) consented, having read this version."""

    action_type = ActionType.CONSENT_RECORDED
    information_version: InformationVersion
    representative: Representative | None = None


class DmpCreated(PatientPayload):
    """Create the DMP with the patient's choices; the sheet's identifier and code were drawn
    by the kiosk, which prints them before the action reaches the service."""

    action_type = ActionType.DMP_CREATED
    consent: Literal[True]
    information_version: InformationVersion
    representative: Representative | None = None
    emergency: EmergencyChoices = EmergencyChoices()
    contact: NotificationContact | None = None
    treating_doctor: PhysicianIdNat | None = None
    authorised_professionals: tuple[ProfessionalIdNat, ...] = Field(
        default=(),
        max_length=50,
        strict=False,  # a JSON array, read by FastAPI in Python mode
    )
    access_identifier: str | None = Field(default=None, pattern=ACCESS_IDENTIFIER_PATTERN)
    activation_code: str | None = Field(default=None, pattern=ACTIVATION_CODE_PATTERN)


class AuthorisationGranted(PatientPayload):
    """A professional authorised on the record: the operator itself, the patient present and
    agreeing (`patient_agreement`), or one the patient chose at creation."""

    action_type = ActionType.AUTHORISATION_GRANTED
    id_nat: ProfessionalIdNat
    patient_agreement: bool = False


class AuthorisationRevoked(PatientPayload):
    """An authorisation withdrawn."""

    action_type = ActionType.AUTHORISATION_REVOKED
    id_nat: ProfessionalIdNat


class ContactSet(PatientPayload):
    """The patient's notification contact."""

    action_type = ActionType.CONTACT_SET
    contact: NotificationContact


class TreatingDoctorSet(PatientPayload):
    """The physician the patient names as treating doctor."""

    action_type = ActionType.TREATING_DOCTOR_SET
    id_nat: PhysicianIdNat


class DmpOpened(ActionPayload):
    """The kiosk's trace of an opening the service served (and traced) online."""

    action_type = ActionType.DMP_OPENED
    ins: Nir
    mode: AccessMode = Field(strict=False)
    reason_code: BreakGlassReason | None = Field(default=None, strict=False)
    reason_text: str | None = Field(
        default=None, min_length=REASON_TEXT_MIN, max_length=REASON_TEXT_MAX
    )

    @model_validator(mode="after")
    def _reason(self) -> Self:
        given = (self.reason_code is not None, self.reason_text is not None)
        if self.mode is AccessMode.BREAK_GLASS and given != (True, True):
            raise ValueError("reason_required")
        if self.mode is not AccessMode.BREAK_GLASS and any(given):
            raise ValueError("reason_only_for_break_glass")
        return self


class CardReadRefused(ActionPayload):
    """A card the kiosk refused; no card data, only what kind it was."""

    action_type = ActionType.CARD_READ_REFUSED
    reason: RefusedCard = Field(strict=False)


class IdentityChecked(PatientPayload):
    """The operator checked the patient's identity document (identity vigilance): with the
    register's answer, the identity is "qualifiée"."""

    action_type = ActionType.IDENTITY_CHECKED
    document: IdentityDocument = Field(strict=False)


class DocumentAdded(PatientPayload):
    """A document filed at the counter from a short form (the professional must be
    authorised on the record); the service gives it its category and document type."""

    action_type = ActionType.DOCUMENT_ADDED
    kind: CounterDocument = Field(strict=False)
    title: DocumentTitle
    content: DocumentText
    document_date: IsoDate
    masked: bool = False  # hidden from other professionals, at deposit


class DmpClosed(PatientPayload):
    """The DMP closed at the patient's request, the patient present."""

    action_type = ActionType.DMP_CLOSED


class DmpReopened(PatientPayload):
    """A closed DMP reopened at the patient's request, the patient present."""

    action_type = ActionType.DMP_REOPENED


class ActivationReissued(PatientPayload):
    """A new access sheet for a lost one or a locked-out patient: the kiosk drew the new
    identifier and code (printed at once); the old ones are void once this is applied."""

    action_type = ActionType.ACTIVATION_REISSUED
    access_identifier: str = Field(pattern=ACCESS_IDENTIFIER_PATTERN)
    activation_code: str = Field(pattern=ACTIVATION_CODE_PATTERN)


PAYLOAD_TYPES: dict[ActionType, type[ActionPayload]] = {
    cls.action_type: cls
    for cls in (
        OperatorSessionOpened,
        OperatorSessionClosed,
        IdentityToQualify,
        ConsentRecorded,
        DmpCreated,
        AuthorisationGranted,
        AuthorisationRevoked,
        ContactSet,
        TreatingDoctorSet,
        DmpOpened,
        CardReadRefused,
        IdentityChecked,
        DocumentAdded,
        DmpClosed,
        DmpReopened,
        ActivationReissued,
    )
}


def build_payload_types() -> None:
    """Build every payload class's validator and serializer now (they are built lazily)."""
    for cls in PAYLOAD_TYPES.values():
        cls.model_rebuild(force=True)


def encode_payload(payload: ActionPayload) -> bytes:
    """The JSON that is sealed (absent optional fields left out)."""
    return payload.model_dump_json(exclude_none=True).encode()


def decode_payload(action_type: str, data: bytes) -> ActionPayload:
    """Read an opened payload with its type's class, or PayloadError."""
    try:
        cls = PAYLOAD_TYPES[ActionType(action_type)]
    except ValueError:
        raise PayloadError("unsupported_action_type") from None
    try:
        return cls.model_validate_json(data)
    except ValidationError as exc:
        raise PayloadError("invalid_payload", _where(exc.errors())) from None


def _where(errors: list[Any]) -> str:
    first = errors[0] if errors else {}
    path = ".".join(str(part) for part in first.get("loc", ()))
    message = str(first.get("msg", ""))
    # Our own rules raise ValueError("code"): pydantic prefixes "Value error, ".
    code = message.removeprefix("Value error, ") if message.startswith("Value error, ") else ""
    where = path or "payload"
    return f"{where}:{code}" if code else where
