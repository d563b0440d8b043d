"""`kiosk doctor`: what the person installing a kiosk checks first, with a hint per failure.

Each check returns one line: its name, ok or not, what it saw, and what to do when it fails.
Nothing here prints a NIR, a key or health data.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kiosk.cardreader.atr import identify_atr
from kiosk.cardreader.pcsc import PyscardBackend
from kiosk.core import CardFamily
from kiosk.core.errors import CentralUnreachableError, KioskError
from kiosk.settings import KioskIdentity, KioskSettings, loose_paths
from kiosk.sync.keys import load_or_create_device_key
from kiosk.sync.queue import QueueStore, open_engine
from kiosk.sync.transport import CentralClient

__all__ = ["Check", "run_checks"]

MAX_SKEW_S = 60.0
MAX_PENDING_AGE_S = 24 * 3600.0


@dataclass(frozen=True, slots=True)
class Check:
    """One line of the report."""

    name: str
    ok: bool
    seen: str
    hint: str = ""


def _pcscd() -> list[Check]:
    try:
        backend = PyscardBackend()
        try:
            states = backend.snapshot()
        finally:
            backend.close()
    except KioskError:
        return [
            Check(
                "pcscd",
                False,
                "service injoignable",
                "démarrez-le : sudo systemctl start pcscd (ou make system)",
            )
        ]
    lines = [Check("pcscd", True, "joignable")]
    if not states:
        lines.append(
            Check("lecteurs", False, "aucun lecteur", "branchez le lecteur USB (pilote libccid)")
        )
        return lines
    for name in sorted(states):
        state = states[name]
        if not state.present:
            seen = "vide"
        else:
            rule = identify_atr(state.atr)
            seen = rule.model if rule.family is not CardFamily.UNKNOWN else "carte inconnue"
        lines.append(Check(f"lecteur « {name} »", True, seen))
    return lines


def _central(identity: KioskIdentity | None) -> list[Check]:
    if identity is None:
        return [
            Check(
                "enrôlement",
                False,
                "kiosque non enrôlé",
                "kiosk enroll --central URL --token JETON (jeton : central enroll-token)",
            )
        ]
    lines = [Check("enrôlement", True, f"{identity.kiosk_id} ({identity.site})")]
    client = CentralClient(identity.central_url, timeout_s=5)
    try:
        code, server = client.health()
    except CentralUnreachableError as exc:
        return [
            *lines,
            Check(
                "service central",
                False,
                f"injoignable ({exc})",
                f"vérifiez le réseau et l'adresse {identity.central_url} ; la file attend",
            ),
        ]
    finally:
        client.close()
    lines.append(Check("service central", code == 200, f"HTTP {code}"))
    if server is None:
        return lines
    skew = (dt.datetime.now(dt.UTC) - server).total_seconds()
    lines.append(
        Check(
            "horloge",
            abs(skew) <= MAX_SKEW_S,
            f"écart {skew:+.0f} s avec le service central",
            "réglez l'heure (NTP : timedatectl set-ntp true)",
        )
    )
    return lines


def _key(home: Path) -> list[Check]:
    path = home / "device.key"
    if not path.exists():
        return [Check("clé de l'appareil", False, "absente", "kiosk enroll la crée")]
    mode = stat.S_IMODE(path.stat().st_mode)
    return [
        Check(
            "clé de l'appareil",
            mode & 0o077 == 0,
            f"droits {mode:04o}",
            f"lisible par d'autres : chmod 600 {path}",
        )
    ]


def _home(home: Path) -> list[Check]:
    # Loading the settings tightened them already: what is still loose could not be.
    loose = loose_paths(home)
    return [
        Check(
            "droits des données",
            not loose,
            ", ".join(f"{path} {mode:04o}" for path, mode in loose)
            or "dossier 0700, fichiers 0600",
            f"lisibles par d'autres : chown -R <compte du kiosque> {home} ; chmod 700 {home}",
        )
    ]


def _queue(home: Path, identity: KioskIdentity | None) -> list[Check]:
    path = home / "queue.db"
    if not path.exists():
        return [Check("file d'attente", True, "vide (aucune action encore)")]
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        try:
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            integrity = str(exc)
    lines = [
        Check(
            "base de la file",
            integrity == "ok",
            "intègre" if integrity == "ok" else f"abîmée ({integrity})",
            "gardez une copie du fichier, puis prévenez le support",
        )
    ]
    if integrity != "ok":
        return lines
    store = QueueStore(open_engine(path))
    try:
        status = store.status()
        age = status.oldest_pending_age_s
        lines.append(
            Check(
                "synchronisation",
                age is None or age <= MAX_PENDING_AGE_S,
                f"{status.pending} en attente"
                + (f", la plus ancienne depuis {age / 3600:.1f} h" if age else "")
                + (f", {len(status.rejected)} refusée(s)" if status.rejected else ""),
                "la file ne part plus : vérifiez le réseau et le service central",
            )
        )
        if identity is not None and (home / "device.key").exists():
            from dmpcommon.signing import public_bytes

            key = public_bytes(load_or_create_device_key(home / "device.key"))
            problem = store.verify(key)
            lines.append(
                Check(
                    "chaîne de la file",
                    problem is None,
                    "signatures et chaînage vérifiés"
                    if problem is None
                    else f"action n° {problem.seq} : {problem.problem}",
                    "gardez une copie du fichier, puis prévenez le support",
                )
            )
    finally:
        store.close()
    return lines


def run_checks(settings: KioskSettings) -> list[Check]:
    """Every check, in the order a technician would go."""
    home = settings.home
    identity = settings.identity() if settings.enrolled else None
    checks: list[Callable[[], list[Check]]] = [
        _pcscd,
        lambda: _central(identity),
        lambda: _home(home),
        lambda: _key(home),
        lambda: _queue(home, identity),
    ]
    lines: list[Check] = []
    for check in checks:
        lines.extend(check())
    return lines
