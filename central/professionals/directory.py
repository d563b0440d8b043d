"""Professionals as the service knows them: the name on the card they last logged in with."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.actors import HEALTH_PROFESSIONS
from central.professionals.models import OperatorSession

__all__ = ["names_of"]


def names_of(db: Session, id_nats: Iterable[str]) -> dict[str, str]:
    """ "Prénom NOM, profession" for each card identifier the service has seen log in (the
    latest session's card); identifiers it never saw are left out."""
    wanted = set(id_nats)
    if not wanted:
        return {}
    names: dict[str, str] = {}
    rows = db.execute(
        select(
            OperatorSession.id_nat,
            OperatorSession.prenom,
            OperatorSession.nom,
            OperatorSession.profession,
        )
        .where(OperatorSession.id_nat.in_(wanted))
        .order_by(OperatorSession.created_at)
    )
    for id_nat, prenom, nom, profession in rows:  # the latest wins
        label = HEALTH_PROFESSIONS.get(profession or "", "")
        names[id_nat] = f"{prenom.capitalize()} {nom}" + (f", {label}" if label else "")
    return names
