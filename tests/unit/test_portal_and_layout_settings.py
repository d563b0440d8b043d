"""The portal printed on the access sheet is this service's, never a national default; the
sheet's layout is a setting checked like the others."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.core.errors import SettingsError
from kiosk.messages import describe_error
from kiosk.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_the_portal_is_the_one_the_enrolled_service_serves(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path, central_url="https://dmp.exemple.test/")
    assert settings.portal_url == "https://dmp.exemple.test/patient"
    chosen = load_settings(
        home=tmp_path, central_url="https://dmp.exemple.test", portal_url="https://p.test/x"
    )
    assert chosen.portal_url == "https://p.test/x"  # said explicitly: kept
    assert load_settings(home=tmp_path).portal_url == ""  # not enrolled: no sheet to print


def test_no_national_site_is_a_default_anywhere_in_the_kiosk() -> None:
    sources = [*ROOT.joinpath("kiosk").rglob("*.py"), *ROOT.joinpath("dmpcommon").rglob("*.py")]
    assert sources
    assert [path for path in sources if "monespacesante" in path.read_text("utf-8")] == []


def test_the_sheet_layout_is_a4_or_ticket(tmp_path: Path) -> None:
    assert load_settings(home=tmp_path).sheet_layout == "a4"
    assert load_settings(home=tmp_path, sheet_layout="ticket").sheet_layout == "ticket"
    with pytest.raises(SettingsError) as refused:
        load_settings(home=tmp_path, sheet_layout="a5")
    assert (refused.value.name, refused.value.value) == ("--sheet-layout", "a5")
    line = describe_error(refused.value)
    assert line.startswith("Réglage --sheet-layout invalide") and "a5" in line, line
