"""`make demo`: the central service on SQLite seeded from the fixtures, an enrolled kiosk,
its window and the demo card tray. Ctrl-C, or closing the kiosk, stops everything it started.

Each run starts from a fresh demo folder (DEMO_DIR, default .demo/), so running it twice works.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from central.identity.service import IdentityRegister  # noqa: E402
from tests.support.central import KioskAuth, fixture_professional  # noqa: E402

PY = sys.executable
PHARMACIST, PHYSICIAN = "899700218896", "810100457828"
# A few records, each with a document of every category, for the cards of fixtures/cards.
RECORDS = {
    "284027511234577": [PHARMACIST, PHYSICIAN],  # Claire MARTIN: the pharmacist may read
    "180072216803180": [PHYSICIAN],  # Yann LE GALL: the pharmacist needs break-glass
}
DOCUMENTS = [
    ("care_history", "Consultation pour bronchite aiguë", 40),
    ("pathologies_allergies", "Allergie : pénicilline (urticaire)", 900),
    ("medications", "Lévothyroxine 75 µg, 1 comprimé le matin", 20),
    ("reports", "Compte rendu de consultation d'endocrinologie", 60),
    ("exam_results", "TSH : 2,1 mUI/L (normale)", 30),
    ("advance_directives", "Directives anticipées (document déposé par le patient)", 400),
    ("emergency_contacts", "Personne à prévenir : conjoint, 06 00 00 00 00", 100),
    ("other", "Certificat de vaccination (grippe saisonnière)", 70),
]


def _free_port(preferred: int) -> int:
    """`preferred` if nothing answers there (0: any free port)."""
    if preferred:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", preferred)) != 0:
                return preferred
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, process: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if process.poll() is not None:
            raise RuntimeError("the central service stopped at start-up")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the central service did not start")


def _seed(url: str, kiosk_home: Path) -> None:
    """The demo's records, written as the enrolled demo kiosk (the service serves operators
    only at an enrolled kiosk that signs its requests)."""
    import datetime as dt

    from kiosk.settings import load_settings
    from kiosk.sync.keys import load_or_create_device_key

    kiosk_id = load_settings(home=kiosk_home).identity().kiosk_id
    kiosk = KioskAuth(kiosk_id, load_or_create_device_key(kiosk_home / "device.key"))

    def login(id_nat: str) -> str:
        attestation = fixture_professional(id_nat).attestation(kiosk_id=kiosk_id)
        response = httpx.post(f"{url}/v1/sessions", json=attestation, auth=kiosk)
        response.raise_for_status()
        return str(response.json()["token"])

    pharmacist, physician = login(PHARMACIST), login(PHYSICIAN)
    register = IdentityRegister.load(ROOT / "fixtures" / "identities.json")
    today = dt.date.today()
    with httpx.Client(base_url=url, timeout=10, auth=kiosk) as client:
        for ins, authorised in RECORDS.items():
            # The patient at the counter: their card read and qualified, then the creation.
            person = register.by_ins(ins)
            if person is None:
                raise RuntimeError(f"not in fixtures/identities.json: {ins}")
            client.post(
                "/v1/identity/qualify",
                json={
                    "nom": person.nom_naissance,
                    "prenom": person.prenoms[0],
                    "birth_date": person.birth_date,
                    "nir": person.opening_holder_nir or person.ins,
                },
                headers={"Authorization": f"Bearer {pharmacist}"},
            ).raise_for_status()
            client.post(
                "/v1/dmp",
                json={
                    "ins": ins,
                    "consent": True,
                    "information_version": "2026-11",
                    "authorised_professionals": authorised,
                },
                headers={"Authorization": f"Bearer {pharmacist}"},
            ).raise_for_status()
            for category, title, days in DOCUMENTS:
                client.post(
                    f"/v1/dmp/{ins}/documents",
                    json={
                        "category": category,
                        "title": title,
                        "content": title,
                        "document_date": (today - dt.timedelta(days=days)).isoformat(),
                    },
                    headers={"Authorization": f"Bearer {physician}"},
                ).raise_for_status()


def _until_line(process: subprocess.Popen[str], marker: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    if process.stdout is None:
        raise RuntimeError("no output to wait on")
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"stopped before « {marker} »")
        print(line.rstrip(), flush=True)
        if marker in line:
            # Keep reading its output from now on, so that a full pipe never blocks it.
            threading.Thread(target=_forward, args=(process.stdout,), daemon=True).start()
            return
    raise RuntimeError(f"no « {marker} » after {timeout_s} s")


def _forward(stream: IO[str]) -> None:
    for line in stream:
        print(line.rstrip(), flush=True)


def main() -> int:
    demo = Path(os.environ.get("DEMO_DIR") or ROOT / ".demo")
    shutil.rmtree(demo, ignore_errors=True)
    (demo / "kiosk").mkdir(parents=True)
    port = _free_port(int(os.environ.get("DEMO_PORT", "8080")))
    url = f"http://127.0.0.1:{port}"
    db = f"sqlite:///{demo / 'central.db'}"
    env = {**os.environ, "CENTRAL_HOME": str(demo / "central"), "KIOSK_HOME": str(demo / "kiosk")}
    started: list[subprocess.Popen[bytes] | subprocess.Popen[str]] = []
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        central = subprocess.Popen(  # noqa: S603 - our own commands, throughout
            [PY, "-m", "central", "serve", "--db", db, "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
        )
        started.append(central)
        _wait_http(url, central)
        token = (
            subprocess.run(  # noqa: S603
                [PY, "-m", "central", "enroll-token", "--db", db, "--site", "Pharmacie du Port"],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        # The token on stdin, never on a command line; plain HTTP because the demo's
        # service listens on loopback only.
        subprocess.run(  # noqa: S603
            [
                PY,
                "-m",
                "kiosk",
                "enroll",
                "--central",
                url,
                "--insecure-http-for-tests",
                "--token-file",
                "-",
            ],
            cwd=ROOT,
            env=env,
            check=True,
            input=token + "\n",
            text=True,
        )
        _seed(url, demo / "kiosk")
        # The health insurance's feed: enrolled like a kiosk, then pass after pass it sends
        # 24 months of reimbursed care to each new record (the seeded ones and those the
        # kiosk creates during the demo).
        feed_token = (
            subprocess.run(  # noqa: S603
                [PY, "-m", "central", "enroll-token", "--db", db, "--site", "Assurance Maladie"]
                + ["--kind", "insurance"],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.strip()
            .splitlines()[-1]
        )
        feed = ["--central", url, "--credentials", str(demo / "central" / "insurance-feed.json")]
        subprocess.run(  # noqa: S603
            [PY, "-m", "central", "feed", "enroll", *feed, "--token-file", "-"],
            cwd=ROOT,
            env=env,
            check=True,
            input=feed_token + "\n",
            text=True,
        )
        subprocess.run(  # noqa: S603 - the seeded records' history, before the kiosk opens
            [PY, "-m", "central", "feed", "run", *feed, "--once"], cwd=ROOT, env=env, check=True
        )
        started.append(
            subprocess.Popen(  # noqa: S603
                [PY, "-m", "central", "feed", "run", *feed, "--interval", "5"], cwd=ROOT, env=env
            )
        )
        tray = subprocess.Popen(  # noqa: S603
            [PY, "-m", "drivers", "tray"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
        )
        started.append(tray)
        kiosk = subprocess.Popen(  # noqa: S603
            [PY, "-m", "kiosk", "run", "--windowed"],
            cwd=ROOT,
            env={
                **env,
                "KIOSK_SHEET_DIR": str(demo / "fiches"),
                "KIOSK_PORTAL_URL": f"{url}/patient",
            },
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(kiosk)
        _until_line(tray, "tray:")
        _until_line(kiosk, "écran d'accueil")
        print(
            f"""
La démo tourne : service central {url} (SQLite dans {demo}), borne enrôlée.
Dans le plateau de cartes :
  1. insérez « Pharmacienne, officine de Lorient (CPS3) » dans le lecteur professionnel (1),
     code porteur 1234 (toutes les cartes de démonstration : 1234) ;
  2. insérez une carte Vitale dans le lecteur patient (0) : « Adulte seule : Jeanne Bernard »
     pour créer un DMP ; « Famille Martin » (Claire MARTIN a déjà un DMP) pour le consulter ;
     « Famille Le Gall » (Yann : accès d'urgence) ; l'enfant d'une famille pour un mineur.
Les fiches d'accès imprimées arrivent en PDF dans {demo / "fiches"}.
Fermez la fenêtre de la borne, ou Ctrl-C, pour tout arrêter.
demo: processus {" ".join(str(p.pid) for p in started)}
demo: prêt""",
            flush=True,
        )
        kiosk.wait()
    except KeyboardInterrupt:
        pass
    finally:
        for process in reversed(started):
            if process.poll() is None:
                process.send_signal(signal.SIGINT if process is not started[0] else signal.SIGTERM)
        for process in reversed(started):
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        print("demo: arrêtée", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
