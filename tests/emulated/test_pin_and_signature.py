"""PIN verification in both status-word dialects, and the card's signature, through pcscd."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

from kiosk.cardreader.apdu import ApduProtocol, CardConnection
from kiosk.cardreader.pcsc import PyscardBackend
from kiosk.cardreader.profiles.cps import CpsSession
from kiosk.cardreader.service import CardService
from kiosk.core.errors import ApduError, PinBlockedError, PinError
from tests.support.paths import CARDS, ROOT
from tests.support.pcsc import card_in_slot

ISO = CARDS / "cps-pharmacienne-lorient.json"
CPS3 = CARDS / "cps-pharmacien-saint-malo-cps3.json"
CPS3_SW = {"wrong": 0x9804, "blocked": 0x9840}


def _session(connection: CardConnection, atr: bytes) -> CpsSession:
    session = CpsSession(ApduProtocol(connection), atr)
    session.select()
    return session


def _try_pins(pins: list[str]) -> list[object]:
    """Present each PIN in turn on one connection; record what happened."""

    def job(connection: CardConnection, atr: bytes) -> list[object]:
        session = _session(connection, atr)
        outcomes: list[object] = [session.pin_tries_left()]
        for pin in pins:
            try:
                session.verify_pin(pin)
                outcomes.append("ok")
            except PinError as exc:
                outcomes.append(("wrong", exc.tries_left))
            except PinBlockedError:
                outcomes.append("blocked")
        outcomes.append(session.pin_tries_left())
        return outcomes

    with CardService(PyscardBackend) as service:
        return service.run(job, reader="Virtual PCD 00 01")


@pytest.mark.parametrize("path", [ISO, CPS3], ids=["iso", "cps3"])
def test_wrong_twice_then_right(path: Path) -> None:
    with card_in_slot(path, slot=1):
        outcomes = _try_pins(["0000", "9999", "1234"])
    assert outcomes == [3, ("wrong", 2), ("wrong", 1), "ok", None]


@pytest.mark.parametrize("path", [ISO, CPS3], ids=["iso", "cps3"])
def test_three_wrong_then_blocked_even_for_the_right_pin(path: Path) -> None:
    with card_in_slot(path, slot=1):
        outcomes = _try_pins(["0000", "0000", "0000", "1234"])
    assert outcomes == [3, ("wrong", 2), ("wrong", 1), "blocked", "blocked", 0]


def test_blocked_card_fixture() -> None:
    with card_in_slot(CARDS / "cps-bloquee.json", slot=1):
        outcomes = _try_pins(["1234"])
    assert outcomes == [0, "blocked", 0]


def test_signature_verifies_against_the_card_certificate_and_the_ca() -> None:
    digest = hashlib.sha256(b"kiosk-42|session-7|2026-11-25T10:00:00Z").digest()

    def job(connection: CardConnection, atr: bytes) -> tuple[bytes, bytes, bytes]:
        session = _session(connection, atr)
        with pytest.raises(ApduError) as before_pin:
            session.sign_digest(digest)
        assert before_pin.value.sw == 0x6982
        session.verify_pin("1234")
        return (
            session.read_certificate(),
            session.sign_digest(digest),
            session.read_identity().id_nat.encode(),
        )

    with card_in_slot(ISO, slot=1), CardService(PyscardBackend) as service:
        der, signature, id_nat = service.run(job, reader="Virtual PCD 00 01")

    certificate = x509.load_der_x509_certificate(der)
    assert len(der) > 256  # read in several chunks
    ca = x509.load_pem_x509_certificate((ROOT / "fixtures/pki/ca.pem").read_bytes())
    certificate.verify_directly_issued_by(ca)
    serial = certificate.subject.get_attributes_for_oid(x509.NameOID.SERIAL_NUMBER)[0].value
    assert serial.encode() == id_nat
    public_key = certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(signature, digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))


def test_power_cycle_forgets_the_verified_pin() -> None:
    digest = bytes(32)

    def verify(connection: CardConnection, atr: bytes) -> None:
        _session(connection, atr).verify_pin("1234")

    def sign(connection: CardConnection, atr: bytes) -> bytes:
        return _session(connection, atr).sign_digest(digest)

    with card_in_slot(ISO, slot=1), CardService(PyscardBackend) as service:
        service.run(verify, reader="Virtual PCD 00 01")
        # The adapter unpowers the card on disconnect: the next connection starts unverified.
        with pytest.raises(ApduError) as caught:
            service.run(sign, reader="Virtual PCD 00 01")
    assert caught.value.sw == 0x6982
