"""Professionals as the service knows them: the name, profession and place on the card they
last logged in with. What the patient is told of who reads, and how they find someone by
name to authorise or block: public facts of a card, never anything of a record."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from central.actors import HEALTH_PROFESSIONS
from central.professionals.models import OperatorSession
from dmpcommon.identifiers import adeli_of_id_nat, rpps_of_id_nat
from dmpcommon.people import fold
from dmpcommon.vocabulary import Role

__all__ = [
    "SEARCH_MAX_RESULTS",
    "SEARCH_MIN_LENGTH",
    "KnownProfessional",
    "fold",
    "label_of",
    "names_at",
    "names_of",
    "search",
]

SEARCH_MIN_LENGTH = 2
SEARCH_MAX_RESULTS = 20
_SEARCH_MAX_LENGTH = 60
# Who a patient may find by name: those who care for people, never a reception agent, a
# structure the register does not know, or a party the law keeps out.
_FINDABLE_ROLES = (Role.HEALTH_PROFESSIONAL.value, Role.SAMU_REGULATOR.value)


@dataclass(frozen=True, slots=True)
class KnownProfessional:
    """A professional as their latest card log-in named them."""

    id_nat: str
    prenom: str
    nom: str
    profession: str  # in French, "" when not a health profession
    place: str  # the structure's name on the card

    @property
    def label(self) -> str:
        """ "Prénom NOM, profession, place", the parts known."""
        parts = [f"{_given_name(self.prenom)} {self.nom}".strip(), self.profession, self.place]
        return ", ".join(p for p in parts if p)


def label_of(id_nat: str, names: dict[str, str]) -> str:
    """How a professional is shown: their name where known, else their public number
    ("professionnel n° RPPS 10100457828"), never a bare card identifier."""
    if id_nat in names:
        return names[id_nat]
    rpps = rpps_of_id_nat(id_nat)
    if rpps:
        return f"professionnel n° RPPS {rpps}"
    adeli = adeli_of_id_nat(id_nat)
    if adeli:
        return f"professionnel n° ADELI {adeli}"
    return f"professionnel n° {id_nat}"


def names_of(db: Session, id_nats: Iterable[str]) -> dict[str, str]:
    """ "Prénom NOM, profession, place" for each card identifier the service has seen log in
    (the latest session's card); identifiers it never saw are left out (see label_of)."""
    wanted = {i for i in id_nats if i}
    if not wanted:
        return {}
    cards = OperatorSession.id_nat.in_(wanted)
    return {p.id_nat: p.label for p in _latest(db, cards, among=cards)}


def names_at(
    db: Session, acts: Iterable[tuple[str, dt.datetime]]
) -> dict[tuple[str, dt.datetime], str]:
    """ "Prénom NOM, profession, place" for each (card, time) as the card named them then:
    the log-in opened at or before that time (a professional who moved since is shown where
    they acted); the first log-in after it when none was before (a queued action)."""
    wanted = {act for act in acts if act[0]}
    if not wanted:
        return {}
    rows = db.execute(
        select(
            OperatorSession.id_nat,
            OperatorSession.created_at,
            OperatorSession.prenom,
            OperatorSession.nom,
            OperatorSession.profession,
            OperatorSession.structure_name,
        )
        .where(OperatorSession.id_nat.in_({id_nat for id_nat, _ in wanted}))
        .order_by(OperatorSession.created_at)
    ).all()
    cards: dict[str, list[tuple[dt.datetime, KnownProfessional]]] = {}
    for id_nat, at, prenom, nom, profession, place in rows:
        known = KnownProfessional(
            id_nat=id_nat,
            prenom=prenom,
            nom=nom,
            profession=HEALTH_PROFESSIONS.get(profession or "", ""),
            place=place,
        )
        cards.setdefault(id_nat, []).append((at, known))
    labels: dict[tuple[str, dt.datetime], str] = {}
    for id_nat, when in wanted:
        seen = cards.get(id_nat)
        if not seen:
            continue
        before = [known for at, known in seen if at <= when]
        labels[(id_nat, when)] = (before[-1] if before else seen[0][1]).label
    return labels


def search(db: Session, name: str) -> list[KnownProfessional]:
    """Health professionals the service knows whose name contains `name`, whatever its case
    and accents; at most SEARCH_MAX_RESULTS, by name. Empty for fewer than
    SEARCH_MIN_LENGTH letters."""
    wanted = fold(name)[:_SEARCH_MAX_LENGTH]
    if len(wanted.replace(" ", "")) < SEARCH_MIN_LENGTH:
        return []
    escaped = "".join("\\" + c if c in "%_\\" else c for c in wanted)
    matches = OperatorSession.name_key.like(f"%{escaped}%", escape="\\")
    found = _latest(
        db,
        and_(
            OperatorSession.role.in_(_FINDABLE_ROLES),
            OperatorSession.card_type == "CPS",
            OperatorSession.profession.in_(list(HEALTH_PROFESSIONS)),
        ),
        among=matches,
        limit=SEARCH_MAX_RESULTS,
    )
    found.sort(key=lambda p: (fold(p.nom), fold(p.prenom), p.id_nat))
    return found[:SEARCH_MAX_RESULTS]


def _latest(
    db: Session,
    where: ColumnElement[bool],
    *,
    among: ColumnElement[bool],
    limit: int | None = None,
) -> list[KnownProfessional]:
    """The latest log-in, among the log-ins `among` selects (the database groups those
    only, not every log-in ever), of each card; kept if it also matches `where`."""
    latest = (
        select(OperatorSession.id_nat, func.max(OperatorSession.created_at).label("at"))
        .where(among)
        .group_by(OperatorSession.id_nat)
        .subquery()
    )
    query = (
        select(
            OperatorSession.id_nat,
            OperatorSession.prenom,
            OperatorSession.nom,
            OperatorSession.profession,
            OperatorSession.structure_name,
        )
        .join(
            latest,
            and_(
                OperatorSession.id_nat == latest.c.id_nat,
                OperatorSession.created_at == latest.c.at,
            ),
        )
        .where(where)
        .order_by(OperatorSession.nom, OperatorSession.prenom, OperatorSession.id_nat)
        .limit(limit)
    )
    known: dict[str, KnownProfessional] = {}
    for id_nat, prenom, nom, profession, place in db.execute(query):
        known[id_nat] = KnownProfessional(
            id_nat=id_nat,
            prenom=prenom,
            nom=nom,
            profession=HEALTH_PROFESSIONS.get(profession or "", ""),
            place=place,
        )
    return list(known.values())


def _given_name(prenom: str) -> str:
    """A card's capitals as a given name is written: "JEAN-PIERRE" -> "Jean-Pierre"."""
    return " ".join(
        "-".join(part.capitalize() for part in word.split("-")) for word in prenom.split()
    )
