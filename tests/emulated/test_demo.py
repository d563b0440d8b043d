"""`make demo`'s script, offscreen: up to the kiosk's welcome screen and the card tray, then
Ctrl-C, and nothing it started is left running."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from tests.support.paths import CARDS, ROOT


def test_the_demo_starts_everything_and_stops_it_all_twice(tmp_path: Path) -> None:
    for _ in range(2):  # the second run starts afresh in the same folder
        _run_demo_once(tmp_path)


def _run_demo_once(tmp_path: Path) -> None:
    demo = subprocess.Popen(
        ["bash", "scripts/demo.sh"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "DEMO_DIR": str(tmp_path / "demo"),
            "DEMO_PORT": "0",
        },
    )
    assert demo.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            line = demo.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip())
            if line.startswith("demo: prêt"):
                break
        assert lines and lines[-1] == "demo: prêt", "\n".join(lines)
    finally:
        demo.send_signal(signal.SIGINT)
        rest, _ = demo.communicate(timeout=60)
    output = "\n".join(lines)
    assert f"tray: {len(list(CARDS.glob('*.json')))} cartes" in output
    assert "kiosk: écran d'accueil affiché" in output
    assert "code porteur 1234" in output
    assert demo.returncode == 0 and "demo: arrêtée" in rest
    pids = [
        int(p) for p in next(ln for ln in lines if ln.startswith("demo: processus")).split()[2:]
    ]
    assert len(pids) == 4  # the central service, the insurance feed, the tray, the kiosk
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        raise AssertionError(f"process {pid} is still running")
