"""Kiosk app benchmark: cold start, and patient card to holders on screen.

- `cold_start_s`: from spawning `kiosk run --windowed` (offscreen) to its welcome screen
  shown (the process prints the moment its event loop first runs with the window up),
  median of 5 starts. Baseline in the same run: a bare PySide6 window (`qt_baseline_s`).
- `card_to_screen_median_ms`: from pcscd reporting the patient's Carte Vitale (the card
  thread's event) to the holders drawn by the window, median over 20 insertions, with a
  pharmacist logged in. Baseline: the card read alone (`card_read_median_ms`).

Needs pcscd with the vpcd reader (`make system`). The central service is not needed: the
kiosk starts and reads cards offline. Prints one JSON line.
Run: `.venv/bin/python bench/ui.py`.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/queue.py bears the name of the standard library's `queue`: keep this folder off the
# import path, or urllib3 and psycopg would import the benchmark.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import json
import os
import platform
import statistics
import subprocess
import tempfile
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric import x25519  # noqa: E402
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from kiosk.cardreader.service import CardEvent, CardEventKind  # noqa: E402
from kiosk.core import CounterView, Step  # noqa: E402
from kiosk.settings import load_settings  # noqa: E402
from kiosk.ui.app import build_kiosk  # noqa: E402
from tests.support.pcsc import READERS, card_in_slot, start_pcscd  # noqa: E402

CARDS = ROOT / "fixtures" / "cards"
STARTS = 5
INSERTIONS = 20

_CHILD = """
import sys, time
t0 = time.monotonic()
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([])
if sys.argv[1] == "kiosk":
    from kiosk.ui import app as kiosk_app
    from kiosk.settings import load_settings
    kiosk = kiosk_app.build_kiosk(load_settings(portal_url="http://portail.test"))
    window = kiosk.window
else:
    from PySide6.QtWidgets import QLabel
    window = QLabel("Dossier Médical Partagé")
window.resize(1024, 768)
window.show()
def shown():
    print(time.monotonic(), flush=True)
    app.quit()
QTimer.singleShot(0, shown)
app.exec()
if sys.argv[1] == "kiosk":
    kiosk.stop()
"""


def _fake_enrolment(home: Path) -> None:
    """A kiosk.toml for a service that is not there: start-up must not wait for it."""
    home.mkdir(parents=True, exist_ok=True)
    key = (
        x25519.X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    )
    (home / "kiosk.toml").write_text(
        'kiosk_id = "kiosk-bench"\nsite = "Bench"\n'
        f'central_url = "http://127.0.0.1:9"\ncentral_key = "{key.hex()}"\n',
        encoding="utf-8",
    )


def cold_start(kind: str, home: Path) -> float:
    env = {**os.environ, "KIOSK_HOME": str(home), "QT_QPA_PLATFORM": "offscreen"}
    start = time.monotonic()
    out = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", _CHILD, kind],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return float(out.strip().splitlines()[-1]) - start


def card_to_screen(home: Path) -> tuple[list[float], list[float]]:
    app = QApplication.instance() or QApplication([])
    kiosk = build_kiosk(load_settings(home=home, portal_url="http://portail.test"))
    kiosk.window.show()
    seen: dict[str, float] = {}
    shown: list[float] = []
    reads: list[float] = []

    def on_card(event: CardEvent) -> None:  # on the card thread, as pcscd reports it
        if event.kind is CardEventKind.CARD_INSERTED and event.reader == READERS[0]:
            seen["at"] = time.monotonic()

    def on_view(view: CounterView) -> None:  # on the UI thread, after the window drew it
        if view.step is Step.HOLDERS and "at" in seen:
            shown.append((time.monotonic() - seen.pop("at")) * 1000)

    kiosk.bridge.card_event.connect(on_card, Qt.ConnectionType.DirectConnection)
    kiosk.runner.changed.connect(on_view)
    done = threading.Event()

    def counter() -> None:
        try:
            with card_in_slot(CARDS / "cps-pharmacienne-lorient.json", slot=1):
                _wait(lambda: kiosk.window.view is not None and kiosk.window.view.step is Step.PIN)
                kiosk.runner.submit(lambda s: s.submit_pin("1234"))
                _wait(
                    lambda: kiosk.window.view is not None and kiosk.window.view.step is Step.READY
                )
                cards = kiosk.runner.workflow.cards
                for i in range(INSERTIONS):
                    with card_in_slot(CARDS / "vitale-parent-deux-enfants.json", slot=0):
                        _wait(lambda i=i: len(shown) > i)
                        start = time.monotonic()
                        cards.read_vitale(READERS[0])  # the baseline: the read alone
                        reads.append((time.monotonic() - start) * 1000)
                    _wait(
                        lambda: (
                            kiosk.window.view is not None and kiosk.window.view.step is Step.READY
                        )
                    )
        finally:
            done.set()

    thread = threading.Thread(target=counter, daemon=True)
    thread.start()
    while not done.is_set():
        app.processEvents()
        time.sleep(0.001)
    thread.join()
    kiosk.stop()
    return shown, reads


def _wait(condition: object, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise RuntimeError("the kiosk did not get there")
        time.sleep(0.005)


def main() -> None:
    start_pcscd()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "kiosk"
        _fake_enrolment(home)
        baseline = statistics.median(cold_start("baseline", home) for _ in range(STARTS))
        cold = statistics.median(cold_start("kiosk", home) for _ in range(STARTS))
        shown, reads = card_to_screen(home)
    print(
        json.dumps(
            {
                "bench": "ui",
                "cold_start_s": round(cold, 3),
                "qt_baseline_s": round(baseline, 3),
                "card_to_screen_median_ms": round(statistics.median(shown), 1),
                "card_to_screen_max_ms": round(max(shown), 1),
                "card_read_median_ms": round(statistics.median(reads), 1),
                "insertions": len(shown),
                "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                f"Python {platform.python_version()}",
            }
        )
    )


if __name__ == "__main__":
    main()
