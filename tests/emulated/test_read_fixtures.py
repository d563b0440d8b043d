"""Every fixture card read through pcscd + vpcd, with the expected result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.cardreader.pcsc import PyscardBackend
from kiosk.cardreader.profiles.vitale2 import VitaleCard
from kiosk.cardreader.reading import read_card
from kiosk.cardreader.service import CardService
from kiosk.core.errors import CardDataError, UnknownCardError, UnsupportedCardError
from tests.support.paths import CARDS
from tests.support.pcsc import READERS, card_in_slot
from tests.support.pcsc import run_kiosk as kiosk


def expected_json(path: Path) -> dict[str, object]:
    """What `kiosk card read --json` must print, derived from the image itself."""
    image = json.loads(path.read_text(encoding="utf-8"))
    if image["kind"] == "vitale2":
        from dmpcommon import is_valid_nir

        return {
            "kind": "vitale2",
            "atr": image["atr"],
            "valid_from": image["valid_from"],
            "holders": [
                {
                    **{k: h[k] for k in ("nom", "prenom", "birth_date", "nationality", "nir")},
                    "nir_valid": is_valid_nir(h["nir"]),
                }
                for h in image["holders"]
            ],
        }
    return {
        "kind": image["card_type"].lower(),
        "atr": image["atr"],
        **{
            k: image.get(k)
            for k in (
                "id_nat",
                "nom",
                "prenom",
                "profession",
                "structure_id",
                "structure_name",
                "expiry",
            )
        },
    }


READABLE = [
    "vitale-adulte-seul",
    "vitale-parent-deux-enfants",
    "vitale-parent-jumeaux",
    "vitale-noms-accents",
    "vitale-cle-nir-fausse",
    "vitale-t0-6c-61",
    "cps-pharmacienne-lorient",
    "cps-pharmacien-saint-malo-cps3",
    "cps-medecin",
    "cps-bloquee",
    "cpe-agent-enim-paimpol",
]


@pytest.mark.parametrize("name", READABLE)
def test_card_read_json_matches_the_card_image(name: str) -> None:
    path = CARDS / f"{name}.json"
    with card_in_slot(path, slot=0):
        result = kiosk("card", "read", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert json.loads(result.stdout) == expected_json(path)


def test_bad_nir_key_is_read_and_flagged() -> None:
    with card_in_slot(CARDS / "vitale-cle-nir-fausse.json"):
        result = kiosk("card", "read", "--json")
    holder = json.loads(result.stdout)["holders"][0]
    assert holder["nir_valid"] is False


def test_twins_are_told_apart_by_first_name() -> None:
    with card_in_slot(CARDS / "vitale-parent-jumeaux.json"):
        card = json.loads(kiosk("card", "read", "--json").stdout)
    twins = card["holders"][1:]
    assert twins[0]["birth_date"] == twins[1]["birth_date"]
    assert twins[0]["prenom"] != twins[1]["prenom"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("vitale-tlv-tronque", "carte illisible"),
        ("vitale-tag-manquant", "carte illisible"),
        ("vitale1", "(vitale 1) non prise en charge"),
        ("carte-bancaire", "carte non reconnue"),
    ],
)
def test_refused_cards_give_one_clear_line_and_no_output(name: str, message: str) -> None:
    with card_in_slot(CARDS / f"{name}.json"):
        result = kiosk("card", "read", "--json")
    assert result.returncode == 1
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert message in result.stderr.lower()
    assert "Traceback" not in result.stderr


def test_no_card_in_any_reader() -> None:
    result = kiosk("card", "read")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "aucune carte" in result.stderr.lower()


def test_named_reader_and_unknown_reader() -> None:
    path = CARDS / "cps-medecin.json"
    with card_in_slot(path, slot=1):
        ok = kiosk("card", "read", "--reader", READERS[1], "--json")
        empty = kiosk("card", "read", "--reader", READERS[0])
        missing = kiosk("card", "read", "--reader", "Lecteur fantôme")
    assert json.loads(ok.stdout)["id_nat"] == "810100457828"
    assert empty.returncode == 1 and "aucune carte" in empty.stderr.lower()
    assert missing.returncode == 1 and "introuvable" in missing.stderr


def test_readers_lists_slots_with_card_state_and_type() -> None:
    with (
        card_in_slot(CARDS / "vitale-adulte-seul.json", slot=0),
        card_in_slot(CARDS / "carte-bancaire.json", slot=1),
    ):
        result = kiosk("readers")
    assert result.returncode == 0, result.stderr
    lines = dict(line.split("\t", 1) for line in result.stdout.splitlines())
    assert lines[READERS[0]].startswith("carte présente\tVitale 2\t3B 75 13")
    assert lines[READERS[1]].startswith("carte présente\tcarte inconnue")


def test_in_process_read_through_the_card_service() -> None:
    with card_in_slot(CARDS / "vitale-parent-deux-enfants.json"):
        with CardService(PyscardBackend) as service:
            card = service.run(read_card)
    assert isinstance(card, VitaleCard)
    assert [h.prenom for h in card.holders] == ["CLAIRE", "LEO", "JADE"]


def test_refusals_are_typed_errors_in_process() -> None:
    with CardService(PyscardBackend) as service:
        for name, error in (
            ("vitale1", UnsupportedCardError),
            ("carte-bancaire", UnknownCardError),
            ("vitale-tlv-tronque", CardDataError),
        ):
            with card_in_slot(CARDS / f"{name}.json"):
                with pytest.raises(error):
                    service.run(read_card)
