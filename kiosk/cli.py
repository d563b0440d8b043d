"""The `kiosk` command line. Errors are one French line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from kiosk.cardreader.atr import identify_atr
from kiosk.cardreader.profiles.cps import ProfessionalCard
from kiosk.cardreader.reading import CardContents, read_card
from kiosk.cardreader.service import CardService
from kiosk.core import CardFamily
from kiosk.core.errors import KioskError, NoReaderError
from kiosk.logs import redact_every_handler
from kiosk.messages import describe_error, describe_refusal
from kiosk.settings import KioskSettings, load_settings

__all__ = ["card_to_json", "main"]

EXIT_ERROR = 1


def _atr_text(atr: bytes) -> str:
    return atr.hex(" ").upper()


def card_to_json(card: CardContents) -> dict[str, Any]:
    """The `kiosk card read --json` document for a card."""
    if isinstance(card, ProfessionalCard):
        return {
            "kind": card.card_type.lower(),
            "atr": _atr_text(card.atr),
            "id_nat": card.id_nat,
            "nom": card.nom,
            "prenom": card.prenom,
            "profession": card.profession,
            "structure_id": card.structure_id,
            "structure_name": card.structure_name,
            "expiry": card.expiry.isoformat(),
        }
    return {
        "kind": "vitale2",
        "atr": _atr_text(card.atr),
        "valid_from": card.valid_from.isoformat(),
        "holders": [
            {
                "nom": h.nom,
                "prenom": h.prenom,
                "birth_date": h.birth_date,
                "nationality": h.nationality,
                "nir": h.nir,
                "nir_valid": h.nir_valid,
            }
            for h in card.holders
        ],
    }


def _card_text(card: CardContents) -> str:
    if isinstance(card, ProfessionalCard):
        role = {"21": "pharmacien", "10": "médecin"}.get(card.profession or "", "")
        lines = [
            f"Carte {card.card_type} : {card.prenom} {card.nom} ({card.id_nat})",
            f"  profession : {card.profession or 'aucune'} {role}".rstrip(),
            f"  structure  : {card.structure_name} ({card.structure_id})",
            f"  expire le  : {card.expiry.isoformat()}",
        ]
        return "\n".join(lines)
    lines = [f"Carte Vitale 2, valide depuis le {card.valid_from.isoformat()}"]
    for index, h in enumerate(card.holders):
        who = "assuré" if index == 0 else "bénéficiaire"
        key = "" if h.nir_valid else "  (clé de NIR fausse)"
        born = "/".join(reversed(h.birth_date.split("-")))
        lines.append(f"  {index + 1}. {h.prenom} {h.nom}, date de naissance {born}, {who}{key}")
    return "\n".join(lines)


def _make_backend() -> Any:
    # Imported here so that commands which never touch a card do not load pyscard.
    from kiosk.cardreader.pcsc import PyscardBackend

    return PyscardBackend()


def _cmd_readers(_args: argparse.Namespace) -> int:
    backend = _make_backend()
    try:
        states = backend.snapshot()
    finally:
        backend.close()
    if not states:
        raise_no_reader()
    for name in sorted(states):
        state = states[name]
        if not state.present:
            print(f"{name}\tvide")
            continue
        rule = identify_atr(state.atr)
        label = rule.model if rule.family is not CardFamily.UNKNOWN else "carte inconnue"
        mute = " (muette)" if state.mute else ""
        print(f"{name}\tcarte présente{mute}\t{label}\t{_atr_text(state.atr)}")
    return 0


def raise_no_reader() -> None:
    """No reader at all is an error for every card command."""
    raise NoReaderError(None)


def _cmd_card_read(args: argparse.Namespace) -> int:
    service = CardService(_make_backend, job_timeout_s=args.timeout)
    with service:
        card = service.run(read_card, reader=args.reader)
    if args.json:
        print(json.dumps(card_to_json(card), ensure_ascii=False))
    else:
        print(_card_text(card))
    return 0


def _settings(args: argparse.Namespace) -> KioskSettings:
    return load_settings(home=args.home, idle_s=getattr(args, "idle_s", None))


def _open_store(settings: KioskSettings) -> Any:
    # Imported here: the card commands need no database.
    from kiosk.sync.queue import QueueStore, open_engine

    return QueueStore(open_engine(settings.home / "queue.db"))


def _cmd_queue_status(args: argparse.Namespace) -> int:
    status = _open_store(_settings(args)).status()
    if args.json:
        print(json.dumps(status.as_json(), ensure_ascii=False))
        return 0
    age = status.oldest_pending_age_s
    print(
        f"en attente : {status.pending}"
        + (f" (la plus ancienne depuis {age:.0f} s)" if age else "")
    )
    print(f"acquittées : {status.acknowledged}, dont rejetées : {len(status.rejected)}")
    for rejected in status.rejected:
        reason = describe_refusal(str(rejected["reason"] or ""))
        print(f"  n° {rejected['seq']} {rejected['type']} : {reason} ({rejected['reason']})")
    return 0


_PROBLEMS_FR = {
    "missing": "absente (supprimée ?)",
    "malformed envelope": "enveloppe illisible",
    "bad signature": "signature invalide (enveloppe modifiée)",
    "moved": "déplacée",
    "chain broken": "chaînage rompu",
    "hash mismatch": "empreinte incohérente",
}


def _cmd_queue_verify(args: argparse.Namespace) -> int:
    from dmpcommon.signing import public_bytes
    from kiosk.sync.keys import load_or_create_device_key

    settings = _settings(args)
    key_path = settings.home / "device.key"
    if not key_path.exists():
        print("kiosk : pas de clé d'appareil : enrôlez le kiosque (kiosk enroll)", file=sys.stderr)
        return EXIT_ERROR
    store = _open_store(settings)
    problem = store.verify(public_bytes(load_or_create_device_key(key_path)))
    if problem is not None:
        print(
            f"kiosk : file d'attente : action n° {problem.seq} "
            f"{_PROBLEMS_FR.get(problem.problem, problem.problem)}",
            file=sys.stderr,
        )
        return EXIT_ERROR
    print(f"OK : {store.count()} actions, chaîne et signatures intactes")
    return 0


_URL_PROBLEMS_FR = {
    "bad_url": "adresse du service central invalide : https://hôte[:port] attendu",
    "not_https": (
        "le service central se joint en HTTPS (https://…) : en http://, le jeton et les clés "
        "passeraient en clair sur le réseau"
    ),
    "http_needs_test_flag": (
        "http:// n'est admis que pour un essai sur cette machine, avec "
        "--insecure-http-for-tests ; sinon, https://"
    ),
}


class _TokenUnavailable(Exception):
    """The token could not be read; the French line to show."""


def _read_token(args: argparse.Namespace) -> str:
    """The enrolment token from --token-file (a path, or - for stdin) or a prompt without echo."""
    if args.token_file == "-":  # noqa: S105 (a path, not a password)
        text = sys.stdin.readline()
    elif args.token_file is not None:
        try:
            with open(args.token_file, encoding="utf-8") as handle:
                text = handle.readline()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "illisible"
            raise _TokenUnavailable(f"fichier du jeton illisible ({reason})") from None
    elif not sys.stdin.isatty():
        raise _TokenUnavailable(
            "pas de terminal pour saisir le jeton : --token-file FICHIER, ou --token-file - "
            "pour le lire sur l'entrée standard"
        )
    else:
        import getpass

        try:
            text = getpass.getpass("Jeton d'enrôlement (masqué) : ")
        except EOFError:
            text = ""
    token = text.strip()
    if not token:
        raise _TokenUnavailable("jeton d'enrôlement vide")
    return token


def _cmd_enroll(args: argparse.Namespace) -> int:
    from kiosk.sync.enrolment import central_url_problem, enroll

    if args.legacy_token is not None:
        # Never echoed: the value is the secret that should not have been typed there.
        print(
            "kiosk: --token n'est plus accepté (la ligne de commande se lit dans ps) : "
            "saisie masquée, --token-file FICHIER ou --token-file - (entrée standard)",
            file=sys.stderr,
        )
        return EXIT_ERROR
    problem = central_url_problem(
        args.central, insecure_http_for_tests=args.insecure_http_for_tests
    )
    if problem is not None:
        print(f"kiosk: {_URL_PROBLEMS_FR[problem]}", file=sys.stderr)
        return EXIT_ERROR
    try:
        token = _read_token(args)
    except _TokenUnavailable as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return EXIT_ERROR
    identity = enroll(_settings(args).home, central_url=args.central, token=token)
    print(f"kiosque enrôlé : {identity.kiosk_id} ({identity.site})")
    return 0


def _cmd_sync(args: argparse.Namespace) -> int:
    import threading

    from kiosk.sync.client import SyncClient
    from kiosk.sync.keys import load_or_create_device_key
    from kiosk.sync.transport import CentralClient, RequestSigner

    settings = _settings(args)
    identity = settings.identity()
    key = load_or_create_device_key(settings.home / "device.key")
    transport = CentralClient(identity.central_url, signer=RequestSigner(identity.kiosk_id, key))
    client = SyncClient(_open_store(settings), transport, identity.kiosk_id)
    if args.once:
        report = client.sync_once()
        print(
            f"envoyées : {report.sent}, acceptées : {report.accepted}, rejetées : {report.rejected}"
        )
        return 0
    stop = threading.Event()
    try:
        client.run(stop)
    except KeyboardInterrupt:
        stop.set()
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    from kiosk.doctor import run_checks

    checks = run_checks(_settings(args))
    width = max(len(c.name) for c in checks)
    for check in checks:
        mark = "OK   " if check.ok else "ÉCHEC"
        line = f"{mark} {check.name.ljust(width)}  {check.seen}"
        if not check.ok and check.hint:
            line += f"\n      {' ' * width}  → {check.hint}"
        print(line)
    failed = sum(not c.ok for c in checks)
    print(f"\n{failed} problème(s)" if failed else "\ntout est en ordre")
    return EXIT_ERROR if failed else 0


def _cmd_run(args: argparse.Namespace) -> int:
    from kiosk.ui.app import run

    return run(_settings(args), windowed=args.windowed)


class _Parser(argparse.ArgumentParser):
    """argparse, minus the echo of unknown arguments' values: a mistyped option may be
    followed by a secret (`--tokn dmpe_…`), which stderr and its logs must not keep."""

    def error(self, message: str) -> NoReturn:
        prefix = "unrecognized arguments: "
        if message.startswith(prefix):
            options = [word for word in message[len(prefix) :].split() if word.startswith("-")]
            message = "arguments non reconnus" + (f" : {' '.join(options)}" if options else "")
        super().error(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kiosk", description="Kiosque DMP")
    parser.add_argument("-v", "--verbose", action="store_true", help="journal détaillé")
    parser.add_argument("--home", help="dossier de données (défaut : KIOSK_HOME)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="vérifie lecteurs, service central, clé et file").set_defaults(
        handler=_cmd_doctor
    )
    run = sub.add_parser("run", help="lance la borne (plein écran)")
    run.add_argument("--windowed", action="store_true", help="dans une fenêtre (poste de test)")
    run.add_argument("--idle-s", type=float, help="oubli du patient après N s sans action")
    run.set_defaults(handler=_cmd_run)
    readers = sub.add_parser("readers", help="liste les lecteurs et les cartes présentes")
    readers.set_defaults(handler=_cmd_readers)
    card = sub.add_parser("card", help="cartes")
    card_sub = card.add_subparsers(dest="card_command", required=True)
    read = card_sub.add_parser("read", help="lit la carte présente")
    read.add_argument("--reader", help="nom du lecteur (par défaut : le premier avec une carte)")
    read.add_argument("--json", action="store_true", help="sortie JSON")
    read.add_argument("--timeout", type=float, default=8.0, help=argparse.SUPPRESS)
    read.set_defaults(handler=_cmd_card_read)
    # No abbreviations: "--token" must never be taken for "--token-file".
    enroll = sub.add_parser(
        "enroll", help="enrôle le kiosque auprès du service central", allow_abbrev=False
    )
    enroll.add_argument("--central", required=True, help="URL du service central (https://)")
    enroll.add_argument(
        "--token-file",
        metavar="FICHIER",
        help="lit le jeton d'enrôlement dans ce fichier (- : l'entrée standard) ; "
        "sans cette option, il est demandé sans écho",
    )
    enroll.add_argument(
        "--insecure-http-for-tests",
        action="store_true",
        help="tests seulement : admet http:// vers cette machine (127.0.0.1, ::1, localhost)",
    )
    enroll.add_argument("--token", dest="legacy_token", help=argparse.SUPPRESS)
    enroll.set_defaults(handler=_cmd_enroll)
    sync = sub.add_parser("sync", help="envoie la file au service central")
    sync.add_argument("--once", action="store_true", help="un passage, puis s'arrête")
    sync.set_defaults(handler=_cmd_sync)
    queue = sub.add_parser("queue", help="file d'attente des actions")
    queue_sub = queue.add_subparsers(dest="queue_command", required=True)
    status = queue_sub.add_parser("status", help="état de la file")
    status.add_argument("--json", action="store_true", help="sortie JSON")
    status.set_defaults(handler=_cmd_queue_status)
    queue_sub.add_parser("verify", help="vérifie la chaîne et les signatures").set_defaults(
        handler=_cmd_queue_verify
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `kiosk` command."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    redact_every_handler()  # stderr too: under systemd it is the journal
    try:
        code: int = args.handler(args)
    except KioskError as exc:
        print(f"kiosk: {describe_error(exc)}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
