"""Every central test runs twice: on SQLite and on PostgreSQL, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from central.config import Settings
from central.db import make_engine
from central.migrate import upgrade
from tests.central.harness import (
    Professional,
    Server,
    fixture_professional,
    login,
    make_professional,
    postgres_url,
    start_server,
    wipe,
)
from tests.central.mail import Mailbox, SmsGateway

_engines: dict[str, tuple[str, Engine]] = {}


def _database(backend: str, tmp_root: Path) -> tuple[str, Engine]:
    if backend not in _engines:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_root / 'central-test.db'}"
        else:
            url = postgres_url()
            engine = make_engine(url)
            with engine.begin() as conn:  # start from nothing: the migration is under test too
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            engine.dispose()
        upgrade(url)
        _engines[backend] = (url, make_engine(url))
    return _engines[backend]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    url, engine = _database(request.param, tmp_path_factory.getbasetemp())
    wipe(engine)
    return url


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.controller.start()
    yield box
    box.controller.stop()


@pytest.fixture
def sms() -> Iterator[SmsGateway]:
    gateway = SmsGateway()
    gateway.start()
    yield gateway
    gateway.stop()


@pytest.fixture
def settings(db_url: str, tmp_path: Path, mailbox: Mailbox, sms: SmsGateway) -> Settings:
    return Settings(
        db=db_url,
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
    return fixture_professional("810100457823")


@pytest.fixture(scope="session")
def agent() -> Professional:
    return fixture_professional("3220098765ENIM42")


@pytest.fixture(scope="session")
def regulator() -> Professional:
    return make_professional(
        id_nat="810100999991", structure_id="350000139", nom="SAMU", prenom="REGUL"
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
