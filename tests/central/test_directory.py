"""Professionals as the patient is told of them and finds them by name: labels, and a search
bounded, accent- and case-blind, with literal wildcards, that never lists a reception agent.
On both databases: their LIKE and lower() differ."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from central.db import make_engine
from central.professionals.directory import (
    SEARCH_MAX_RESULTS,
    fold,
    label_of,
    names_at,
    names_of,
    search,
)
from central.professionals.models import OperatorSession

T0 = dt.datetime(2026, 3, 1, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def db(db_url: str) -> Iterator[Session]:
    engine = make_engine(db_url)
    with Session(engine) as session:
        yield session
    engine.dispose()


def _seen(
    db: Session,
    id_nat: str,
    prenom: str,
    nom: str,
    *,
    profession: str | None = "10",
    place: str = "Cabinet du Quai, Paimpol",
    card_type: str = "CPS",
    role: str = "professionnel_sante",
    minutes: int = 0,
) -> None:
    """A card log-in, as the service records it."""
    at = T0 + dt.timedelta(minutes=minutes)
    db.add(
        OperatorSession(
            id=uuid.uuid4().hex,
            token_hash=uuid.uuid4().hex,
            kiosk_id="kiosk-test",
            id_nat=id_nat,
            nom=nom,
            prenom=prenom,
            card_type=card_type,
            profession=profession,
            structure_id="220078901",
            structure_name=place,
            role=role,
            created_at=at,
            expires_at=at + dt.timedelta(hours=1),
        )
    )
    db.flush()


def test_fold_drops_case_accents_and_hyphens() -> None:
    assert fold("  Hélène   LE-Bris ") == "helene le bris"
    assert fold("FRANÇOIS N'DIAYE") == "francois n diaye"
    assert fold("Cœur") == "coeur"


def test_a_professional_never_seen_is_shown_by_public_number_not_card_identifier() -> None:
    names = {"810100457828": "Helene MORVAN, médecin, Cabinet"}
    assert label_of("810100457828", names) == "Helene MORVAN, médecin, Cabinet"
    assert label_of("899700218896", {}) == "professionnel n° RPPS 99700218896"
    assert label_of("3220098765ENIM42", {}) == "professionnel n° 3220098765ENIM42"


def test_names_say_who_what_and_where_from_the_latest_log_in(db: Session) -> None:
    _seen(db, "810100457828", "HELENE", "MORVAN", place="Cabinet du Quai, Paimpol")
    _seen(db, "810100457828", "JEAN-PIERRE", "MORVAN", place="Hôpital de Lannion", minutes=5)
    _seen(db, "3220098765ENIM42", "NOLWENN", "RIOU", profession=None, card_type="CPE")
    names = names_of(db, ["810100457828", "3220098765ENIM42", "899700218896", ""])
    assert names == {
        "810100457828": "Jean-Pierre MORVAN, médecin, Hôpital de Lannion",
        "3220098765ENIM42": "Nolwenn RIOU, Cabinet du Quai, Paimpol",
    }


def test_search_is_blind_to_case_and_accents_and_lists_health_professionals_only(
    db: Session,
) -> None:
    _seen(db, "810100457828", "HÉLÈNE", "MORVAN")
    _seen(db, "899700218896", "ANNE", "DUPONT", profession="21", place="Pharmacie du Port")
    _seen(db, "899700307152", "LOIC", "LE BRIS", profession="21")
    _seen(db, "810100999993", "REGUL", "SAMU", role="regulateur_samu")
    # Never listed: a reception agent, a health card at an unknown structure, an employer's.
    _seen(db, "3220098765ENIM42", "NOLWENN", "MORVAN", profession=None, card_type="CPE")
    _seen(db, "810000000059", "PAUL", "MORVAN", role="structure_inconnue")
    _seen(db, "810000000067", "RENE", "MORVAN", role="medecine_travail")

    assert [p.id_nat for p in search(db, "morvan")] == ["810100457828"]
    assert [p.label for p in search(db, "helene")] == [
        "Hélène MORVAN, médecin, Cabinet du Quai, Paimpol"
    ]
    assert [p.id_nat for p in search(db, "HÉLÈNE morvan")] == ["810100457828"]
    assert [p.id_nat for p in search(db, "morvan hélène")] == ["810100457828"]
    assert [p.id_nat for p in search(db, "le-bris")] == ["899700307152"]
    assert [p.id_nat for p in search(db, "Dupont")] == ["899700218896"]
    assert [p.id_nat for p in search(db, "samu")] == ["810100999993"]
    assert search(db, "nolwenn") == [] and search(db, "paul") == [] and search(db, "rene") == []


def test_search_refuses_a_short_name_escapes_wildcards_and_is_bounded(db: Session) -> None:
    for n in range(SEARCH_MAX_RESULTS + 5):
        _seen(db, f"8101{n:08d}", f"PRENOM{n:02d}", "MARTIN")
    _seen(db, "810100457828", "ANNE", "DU_PONT%")
    assert search(db, "m") == [] and search(db, " é ") == [] and search(db, "") == []
    found = search(db, "martin")
    assert len(found) == SEARCH_MAX_RESULTS
    assert [p.prenom for p in found] == [f"PRENOM{n:02d}" for n in range(SEARCH_MAX_RESULTS)]
    # "%" and "_" are letters the patient typed, not "anything".
    assert search(db, "%") == [] and search(db, "__") == [] and search(db, "m%n") == []
    assert [p.id_nat for p in search(db, "du_pont%")] == ["810100457828"]


def test_a_short_name_is_found_among_many_longer_ones(db: Session) -> None:
    """The match is made by the database on the folded name, not on a loose pattern then
    a capped list: LY is found among 250 ALAINs, CŒUR by "coeur"."""
    for number in range(250):
        _seen(db, f"8{10000000000 + number}", "PAUL", f"ALAIN{number:03d}")
    _seen(db, "810100457828", "MAI", "LY")
    _seen(db, "810100457836", "ANNE", "CŒUR")
    assert [p.nom for p in search(db, "ly")] == ["LY"]
    assert [p.nom for p in search(db, "Mai Ly")] == ["LY"]
    assert [p.nom for p in search(db, "coeur")] == ["CŒUR"]
    assert len(search(db, "alain")) == SEARCH_MAX_RESULTS


def test_an_act_is_named_with_the_place_its_author_acted_from(db: Session) -> None:
    """Hélène MORVAN read at the Quai, then moved: her past reads stay at the Quai."""
    _seen(db, "810100457828", "HELENE", "MORVAN", place="Cabinet du Quai, Paimpol")
    _seen(db, "810100457828", "HELENE", "MORVAN", place="Service de santé au travail", minutes=60)
    read, queued = T0 + dt.timedelta(minutes=5), T0 - dt.timedelta(minutes=5)
    later = T0 + dt.timedelta(minutes=90)
    labels = names_at(
        db, [("810100457828", read), ("810100457828", later), ("810100457828", queued)]
    )
    assert labels[("810100457828", read)].endswith("Cabinet du Quai, Paimpol")
    assert labels[("810100457828", queued)].endswith("Cabinet du Quai, Paimpol")
    assert labels[("810100457828", later)].endswith("Service de santé au travail")
    assert names_at(db, [("899999999999", read)]) == {}
