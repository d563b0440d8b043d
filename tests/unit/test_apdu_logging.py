"""APDU traces: off by default, and even when on, no PIN, no NIR, no name."""

from __future__ import annotations

import logging

import pytest

from kiosk.cardreader.apdu import TRACE, ApduProtocol
from kiosk.cardreader.profiles.cps import CpsSession
from tests.support.scripted import ScriptedConnection

NIR = "284027511234577"


def _exchange() -> None:
    conn = ScriptedConnection(
        [("0020000108 38323935FFFFFFFF", "9000"), ("00B0820000", NIR.encode().hex() + "9000")]
    )
    protocol = ApduProtocol(conn)
    CpsSession(protocol, b"").verify_pin("8295")
    protocol.read_binary(sfi=2)


def test_no_trace_at_debug(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="kiosk"):
        _exchange()
    assert caplog.records == []


def test_trace_level_logs_headers_and_lengths_only(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(TRACE, logger="kiosk"):
        _exchange()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "00200001" in text and "00b08200" in text
    for secret in ("8295", "38323935", NIR, NIR.encode().hex()):
        assert secret not in text
