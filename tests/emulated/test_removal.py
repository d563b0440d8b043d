"""A card pulled out after each APDU of a full read: a card-removed error, nothing partial,
and the next insertion reads fine."""

from __future__ import annotations

import json

import pytest

from kiosk.cardreader.apdu import ApduProtocol, CardConnection
from kiosk.cardreader.pcsc import PyscardBackend
from kiosk.cardreader.profiles.cps import CpsSession
from kiosk.cardreader.profiles.vitale2 import VitaleCard
from kiosk.cardreader.reading import read_card
from kiosk.cardreader.service import CardService
from kiosk.core.errors import CardRemovedError, NoCardError
from tests.support.paths import CARDS
from tests.support.pcsc import READERS, card_in_slot, image_with, run_kiosk, wait_reader

VITALE = CARDS / "vitale-parent-deux-enfants.json"
CPS = CARDS / "cps-pharmacienne-lorient.json"


def full_read(connection: CardConnection, atr: bytes) -> object:
    """Everything the kiosk reads from a card: holders, or identity and certificate."""
    card = read_card(connection, atr)
    if isinstance(card, VitaleCard):
        return card
    session = CpsSession(ApduProtocol(connection), atr)
    session.select()
    return card, session.read_certificate()


def _count_apdus(path: object) -> int:
    """How many APDUs a full read of this card takes (the reader's own count)."""
    counted: list[int] = []

    def job(connection: CardConnection, atr: bytes) -> object:
        class Counting(CardConnection):
            def send_and_receive(self, apdu: bytes) -> tuple[bytes, int]:
                counted.append(1)
                return connection.send_and_receive(apdu)

            def close(self) -> None:
                connection.close()

        return full_read(Counting(), atr)

    with card_in_slot(path), CardService(PyscardBackend) as service:  # type: ignore[arg-type]
        service.run(job)
    return len(counted)


@pytest.mark.parametrize("path", [VITALE, CPS], ids=["vitale2", "cps"])
def test_pulled_out_after_each_apdu(path: object) -> None:
    total = _count_apdus(path)
    assert total >= 4  # the CPS certificate alone takes three READ BINARY
    with CardService(PyscardBackend) as service:
        for index in range(total):
            image = image_with(path, remove_after_apdus=index)  # type: ignore[arg-type]
            with card_in_slot(image) as link:
                with pytest.raises((CardRemovedError, NoCardError)):
                    service.run(full_read)
                assert link.pulled_out.is_set(), f"not pulled out at APDU {index}"
            wait_reader(READERS[0], False)
            with card_in_slot(path):  # type: ignore[arg-type]
                assert service.run(full_read)


def test_cli_prints_nothing_partial_when_the_card_is_pulled_out() -> None:
    for index in (1, 3):
        with card_in_slot(image_with(VITALE, remove_after_apdus=index)):
            result = run_kiosk("card", "read", "--json")
        assert result.returncode == 1
        assert result.stdout == ""
        assert "carte retirée pendant la lecture" in result.stderr.lower()
    with card_in_slot(VITALE):
        result = run_kiosk("card", "read", "--json")
    assert len(json.loads(result.stdout)["holders"]) == 3


def test_mute_card_times_out_with_a_clear_error_and_the_next_card_reads() -> None:
    with CardService(PyscardBackend, job_timeout_s=1.5) as service:
        with card_in_slot(image_with(VITALE, mute_after_apdus=2)):
            from kiosk.core.errors import CardMuteError

            with pytest.raises(CardMuteError):
                service.run(read_card)
        with card_in_slot(VITALE):
            card = service.run(read_card)
    assert isinstance(card, VitaleCard)


def test_cli_mute_card() -> None:
    with card_in_slot(image_with(VITALE, mute_after_apdus=1)):
        result = run_kiosk("card", "read", "--timeout", "1.5")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "la carte ne répond pas" in result.stderr.lower()


@pytest.mark.parametrize("after", [0, 1, 2, 3])
def test_garbage_replies_give_our_errors_only(after: int) -> None:
    from kiosk.core.errors import KioskError

    with card_in_slot(image_with(VITALE, garbage_after_apdus=after)):
        with CardService(PyscardBackend) as service:
            try:
                card = service.run(read_card)
            except KioskError:
                return
    # Garbage that happens to parse must still be a whole card, never a partial one.
    assert isinstance(card, VitaleCard) and card.holders


def test_6c_and_61_are_actually_exercised() -> None:
    """The T=0 card answers 6Cxx and 61xx: the read takes more APDUs than the plain card."""
    plain = _count_apdus(CARDS / "vitale-adulte-seul.json")
    t0 = _count_apdus(CARDS / "vitale-t0-6c-61.json")
    assert (plain, t0) == (4, 7)  # +1 resend after 6Cxx per READ, +1 GET RESPONSE
