"""`make demo`'s script reads both demo cards and leaves nothing running."""

from __future__ import annotations

import os
import subprocess

from tests.conftest import ROOT


def test_demo_reads_both_cards_and_cleans_up() -> None:
    result = subprocess.run(
        ["bash", "scripts/demo.sh"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DEMO_ONCE": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert "CLAIRE MARTIN" in result.stdout
    assert "Carte CPS : ANNE DUPONT (899700218896)" in result.stdout
    left = subprocess.run(["pgrep", "-f", "drivers serve"], capture_output=True, text=True)
    assert left.stdout == ""
