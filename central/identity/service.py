"""Identity qualification against the local register (standing in for the INSi teleservice).

A card gives a retrieved identity (traits + a NIR that, for a child, is the parent's). A
person matches when birth name, first name and birth date agree (ignoring case and accents)
and the card NIR is the person's INS or their opening holder's NIR.

Without a card (forgotten, none yet), the operator types the strict traits of the identity
document they checked: birth name, first first name, birth date, sex and, when known, birth
place. Those must designate exactly one person of the register.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.actors import Actor
from central.audit.trail import AuditAction, AuditOutcome, refuse, trace, trace_kept
from central.config import TEST_OIDS
from central.errors import BadConfiguration, BadRequest, ForbiddenParty
from central.identity.held import held_presences
from central.identity.models import PatientPresence
from central.professionals.roles import FORBIDDEN_ROLES
from dmpcommon import InvalidNirError, check_nir
from dmpcommon.actions import CardTraits, IdentitySearch
from dmpcommon.vocabulary import QualificationStatus, Role

__all__ = [
    "PRESENCE_WINDOW",
    "IdentityRegister",
    "Person",
    "QualifyResult",
    "is_present",
    "presence",
    "normalise",
    "qualify_traced",
    "search_traced",
]

# "The patient is present": their card read and identity qualified in this operator session
# less than this long before the change (DESIGN.md, "Who may change what").
PRESENCE_WINDOW = dt.timedelta(minutes=15)
# A live qualification is timed by the service, a queued change by the kiosk's clock.
_PRESENCE_SKEW = dt.timedelta(minutes=2)

_INS_OIDS = {"1.2.250.1.213.1.4.8", "1.2.250.1.213.1.4.9", *TEST_OIDS}


def normalise(text: str) -> str:
    """Upper case without accents, with hyphens, apostrophes and spaces folded to one space."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).upper()
    for mark in ("-", "'", "\u2019"):
        bare = bare.replace(mark, " ")
    return " ".join(bare.split())


@dataclass(frozen=True, slots=True)
class Person:
    """A qualified identity of the register."""

    ins: str
    oid: str
    nom_naissance: str
    prenoms: tuple[str, ...]
    sexe: str
    birth_date: str
    birth_place: str
    opening_holder_nir: str | None
    vitale_serial: str | None = None  # of the person's own Vitale card, if they hold one

    def traits(self) -> dict[str, object]:
        """The reference traits returned with a qualification."""
        return {
            "nom_naissance": self.nom_naissance,
            "prenoms": list(self.prenoms),
            "sexe": self.sexe,
            "birth_date": self.birth_date,
            "birth_place": self.birth_place,
        }


@dataclass(frozen=True, slots=True)
class QualifyResult:
    """qualified (with the person), not_found or ambiguous."""

    status: QualificationStatus
    person: Person | None = None


class IdentityRegister:
    """The register of qualified identities, loaded from a JSON file."""

    def __init__(self, persons: list[Person], *, production: bool = False) -> None:
        if production and any(p.oid in TEST_OIDS for p in persons):
            raise BadConfiguration(
                "production refusée : le registre des identités contient des INS de test ou de"
                " démonstration (CENTRAL_IDENTITIES)",
                code="production_refused",
            )
        self.persons = persons
        self._by_nir: dict[str, list[Person]] = {}
        # A search without a card has no NIR: birth name and date narrow it first.
        self._by_name_and_birth: dict[tuple[str, str], list[Person]] = {}
        for person in persons:
            self._by_nir.setdefault(person.ins, []).append(person)
            if person.opening_holder_nir:
                self._by_nir.setdefault(person.opening_holder_nir, []).append(person)
            key = (normalise(person.nom_naissance), person.birth_date)
            self._by_name_and_birth.setdefault(key, []).append(person)

    @classmethod
    def load(cls, path: Path, *, production: bool = False) -> IdentityRegister:
        """Load `{"persons": [...]}` (format in CARDS.md)."""
        data = json.loads(path.read_text(encoding="utf-8"))
        persons = []
        for raw in data["persons"]:
            if raw["oid"] not in _INS_OIDS:
                raise BadRequest(f"unknown INS OID {raw['oid']}")
            persons.append(
                Person(
                    ins=raw["ins"],
                    oid=raw["oid"],
                    nom_naissance=raw["nom_naissance"],
                    prenoms=tuple(raw["prenoms"]),
                    sexe=raw["sexe"],
                    birth_date=raw["birth_date"],
                    birth_place=raw["birth_place"],
                    opening_holder_nir=raw.get("opening_holder_nir"),
                    vitale_serial=raw.get("vitale_serial"),
                )
            )
        return cls(persons, production=production)

    def by_ins(self, ins: str) -> Person | None:
        """The person whose INS this is."""
        return next((p for p in self._by_nir.get(ins, []) if p.ins == ins), None)

    def prove(self, *, nir: str, birth_date: str, vitale_serial: str) -> Person | None:
        """The person who holds their own Vitale card with this serial, this NIR and this
        birth date (online self-creation's proof); None unless all three match."""
        person = self.by_ins(nir)
        if person is None or person.vitale_serial is None or person.birth_date != birth_date:
            return None
        same = hmac.compare_digest(person.vitale_serial.encode(), vitale_serial.strip().encode())
        return person if same else None

    def qualify(self, *, nom: str, prenom: str, birth_date: str, nir: str) -> QualifyResult:
        """Find the one person these card traits designate."""
        wanted_nom, wanted_prenom = normalise(nom), normalise(prenom)
        matches = {
            p.ins: p
            for p in self._by_nir.get(nir.upper(), [])
            if normalise(p.nom_naissance) == wanted_nom
            and p.birth_date == birth_date
            and any(normalise(first) == wanted_prenom for first in p.prenoms)
        }
        if not matches:
            return QualifyResult(QualificationStatus.NOT_FOUND)
        if len(matches) > 1:
            return QualifyResult(QualificationStatus.AMBIGUOUS)
        return QualifyResult(QualificationStatus.QUALIFIED, next(iter(matches.values())))

    def search(
        self,
        *,
        nom: str,
        prenom: str,
        birth_date: str,
        sexe: str,
        birth_place: str | None = None,
    ) -> QualifyResult:
        """Find the one person an identity document's strict traits designate."""
        wanted_prenom = normalise(prenom)
        matches = {
            p.ins: p
            for p in self._by_name_and_birth.get((normalise(nom), birth_date), [])
            # The first first name only, as INSi's strict traits: "Annick" alone is not
            # Marie-Hélène Annick.
            if p.prenoms
            and normalise(p.prenoms[0]) == wanted_prenom
            and p.sexe == sexe
            and (birth_place is None or p.birth_place == birth_place)
        }
        if not matches:
            return QualifyResult(QualificationStatus.NOT_FOUND)
        if len(matches) > 1:
            return QualifyResult(QualificationStatus.AMBIGUOUS)
        return QualifyResult(QualificationStatus.QUALIFIED, next(iter(matches.values())))


def _refuse_forbidden(db: Session, actor: Actor, now: dt.datetime) -> None:
    if actor.role in FORBIDDEN_ROLES:
        refuse(
            db,
            actor,
            AuditAction.IDENTITY_QUALIFY,
            ForbiddenParty("identity qualification is forbidden to this party"),
            now=now,
        )


def _record(
    db: Session,
    actor: Actor,
    result: QualifyResult,
    *,
    now: dt.datetime,
    queued: bool = False,
    detail: str = "",
    by_card: bool = True,
) -> None:
    """The patient's presence when an operator qualified them, and the trace."""
    if result.person is not None and actor.role not in (Role.PATIENT, Role.REPRESENTATIVE):
        held = held_presences(db)
        if held is not None:  # an ingest's batch: written with the batch (central.identity.held)
            held.add(actor.session_id, result.person.ins, now, by_card)
        else:
            db.add(
                PatientPresence(
                    session_id=actor.session_id, ins=result.person.ins, at=now, by_card=by_card
                )
            )
            db.flush()
    (trace_kept if queued else trace)(
        db,
        actor,
        AuditAction.IDENTITY_QUALIFY,
        now=now,
        outcome=AuditOutcome(result.status.value),
        patient_ins=result.person.ins if result.person else None,
        detail=detail,
    )


def qualify_traced(
    register: IdentityRegister,
    db: Session,
    actor: Actor,
    traits: CardTraits,
    *,
    now: dt.datetime,
    queued: bool = False,
) -> QualifyResult:
    """Qualify card traits and trace it. A queued qualification's trace stays even when the
    action it belongs to is then rejected (the attempt happened). Employers, insurers, banks
    and occupational medicine learn nothing, not even whether the person exists."""
    _refuse_forbidden(db, actor, now)
    try:
        checked = check_nir(traits.nir)
    except InvalidNirError as exc:
        raise BadRequest(f"NIR invalide ({exc.reason})", code="invalid_nir") from exc
    result = register.qualify(
        nom=traits.nom, prenom=traits.prenom, birth_date=traits.birth_date, nir=checked
    )
    _record(db, actor, result, now=now, queued=queued, detail="queued" if queued else "")
    return result


def search_traced(
    register: IdentityRegister,
    db: Session,
    actor: Actor,
    search: IdentitySearch,
    *,
    now: dt.datetime,
) -> QualifyResult:
    """Look a patient without a card up by the strict traits of the identity document the
    operator checked, and trace it as a qualification (the trace says how: "search"). Found,
    the patient is present in this session as with their card."""
    _refuse_forbidden(db, actor, now)
    result = register.search(
        nom=search.nom,
        prenom=search.prenom,
        birth_date=search.birth_date,
        sexe=search.sexe,
        birth_place=search.birth_place,
    )
    # The trace names the document the operator says was checked; the presence is not a
    # card's: it lets the DMP be created, never its access changed (central.dmp.changes).
    _record(db, actor, result, now=now, detail=f"search;{search.document.value}", by_card=False)
    return result


def presence(db: Session, session_id: str, ins: str, at: dt.datetime) -> bool | None:
    """How this operator session saw this patient shortly before `at` (or as good as at the
    same time, the two clocks being different): True by their card, False only by an
    identity document's traits, None not at all."""
    held = held_presences(db)
    if held is not None:  # an ingest's batch: read once (central.identity.held)
        return held.presence(db, session_id, ins, at - PRESENCE_WINDOW, at + _PRESENCE_SKEW)
    seen = db.scalars(
        select(PatientPresence.by_card).where(
            PatientPresence.session_id == session_id,
            PatientPresence.ins == ins,
            PatientPresence.at > at - PRESENCE_WINDOW,
            PatientPresence.at <= at + _PRESENCE_SKEW,
        )
    ).all()
    return any(seen) if seen else None


def is_present(db: Session, session_id: str, ins: str, at: dt.datetime) -> bool:
    """Whether this operator session saw this patient shortly before `at`, card or not."""
    return presence(db, session_id, ins, at) is not None
