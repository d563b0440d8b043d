"""Every central test runs twice: on SQLite and on PostgreSQL, over real HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from central.config import Settings
from tests.support.aged import write_aged_fixtures
from tests.support.central import (
    Professional,
    Server,
    database_for,
    fixture_professional,
    login,
    make_professional,
    start_server,
    wipe,
)
from tests.support.mail import Mailbox, SmsGateway, mailbox, sms

__all__ = ["mailbox", "sms"]  # fixtures taken from tests.support


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    url, engine = database_for(request.param, tmp_path_factory.getbasetemp())
    wipe(engine)
    return url


@pytest.fixture(scope="session")
def identities(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The identity register, its people the ages they had when it was written."""
    return write_aged_fixtures(tmp_path_factory.mktemp("aged"), dt.date.today())[1]


@pytest.fixture
def settings(
    db_url: str, tmp_path: Path, mailbox: Mailbox, sms: SmsGateway, identities: Path
) -> Settings:
    return Settings(
        db=db_url,
        identities=identities,
        home=tmp_path,
        portal_url="http://portail.test/patient",
        smtp_url=f"smtp://127.0.0.1:{mailbox.port}",
        sms_url=f"http://127.0.0.1:{sms.port}/sms",
    )


@pytest.fixture
def server(settings: Settings) -> Iterator[Server]:
    running = start_server(settings)
    yield running
    running.stop()


# Professionals: two fixture cards, the rest made with the test CA.
@pytest.fixture(scope="session")
def pharmacist() -> Professional:
    return fixture_professional("899700218896")


@pytest.fixture(scope="session")
def physician() -> Professional:
    return fixture_professional("810100457828")


@pytest.fixture(scope="session")
def agent() -> Professional:
    return fixture_professional("3220098765ENIM42")


@pytest.fixture(scope="session")
def regulator() -> Professional:
    return make_professional(
        id_nat="810100999993", structure_id="350000139", nom="SAMU", prenom="REGUL"
    )


@pytest.fixture
def tokens(
    server: Server,
    pharmacist: Professional,
    physician: Professional,
    agent: Professional,
    regulator: Professional,
) -> dict[str, str]:
    return {
        "pharmacist": login(server, pharmacist),
        "physician": login(server, physician),
        "agent": login(server, agent),
        "regulator": login(server, regulator),
    }
