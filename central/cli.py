"""The `central` command line. Errors are one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from central.config import Settings
from central.errors import ServiceError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from central.audit.service import VerifyResult

__all__ = ["main"]

T = TypeVar("T")


def _settings(args: argparse.Namespace) -> Settings:
    return Settings().overridden(
        db=args.db,
        identities=getattr(args, "identities", None),
        host=getattr(args, "host", None),
        port=getattr(args, "port", None),
    )


def _cmd_migrate(args: argparse.Namespace) -> int:
    from central.migrate import upgrade

    settings = _settings(args)
    upgrade(settings.database_url)
    print("schéma à jour")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from central.app import create_app
    from central.migrate import upgrade

    settings = _settings(args)
    upgrade(settings.database_url)
    app = create_app(settings)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    return 0


def _cmd_enroll_token(args: argparse.Namespace) -> int:
    from central.db import make_engine, make_sessionmaker, utcnow
    from central.migrate import upgrade
    from central.sync.service import ClientKind, issue_token

    settings = _settings(args)
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    kind = ClientKind(args.kind)
    with make_sessionmaker(engine)() as db, db.begin():
        token = issue_token(
            db,
            key=settings.secret_key(),
            site=args.site,
            hours=args.hours,
            now=utcnow(),
            kind=kind,
        )
    engine.dispose()
    what = "du flux de l'Assurance Maladie" if kind is ClientKind.INSURANCE else "d'un kiosque"
    print(
        f"jeton d'enrôlement {what} pour « {args.site} », à usage unique, valable {args.hours} h :"
    )
    print(token)
    return 0


def _feed_credentials(args: argparse.Namespace) -> Path:
    from central.config import central_home

    path: Path = args.credentials or central_home() / "insurance-feed.json"
    return path


def _cmd_feed_enroll(args: argparse.Namespace) -> int:
    from central.insurance.client import FeedClient, FeedError

    path = _feed_credentials(args)
    # The token from a file or stdin, never the command line (a process list shows it).
    source = sys.stdin if str(args.token_file) == "-" else None
    token = (source.readline() if source else Path(args.token_file).read_text()).strip()
    if not token:
        print("central : jeton d'enrôlement vide", file=sys.stderr)
        return 1
    try:
        credentials = FeedClient.enroll(args.central, token)
    except FeedError as exc:
        print(
            f"central : enrôlement refusé ({exc.status} {exc.code}) : {exc.detail}", file=sys.stderr
        )
        return 1
    credentials.save(path)
    print(f"flux enrôlé : {credentials.client_id} (« {credentials.site} »), clé dans {path}")
    return 0


def _cmd_feed_run(args: argparse.Namespace) -> int:
    import datetime as dt
    import threading

    from central.insurance.client import FeedClient, FeedCredentials, FeedError
    from central.insurance.generator import CODES_PATH, CareGenerator, CareTable

    path = _feed_credentials(args)
    if not path.exists():
        print(f"central : flux non enrôlé ({path}) : « central feed enroll »", file=sys.stderr)
        return 1
    source = CareGenerator(CareTable.load(args.codes or CODES_PATH), seed=args.seed)
    with FeedClient(args.central, FeedCredentials.load(path)) as client:
        try:
            if args.once:
                report = client.run_once(source, dt.date.today())
                print(
                    f"historique de soins : {report.records} dossier(s), {report.stored}"
                    f" ligne(s) versée(s), {report.refused} refusé(s)"
                )
                return 0
            client.run(source, interval_s=args.interval, stop=threading.Event())
        except FeedError as exc:
            print(
                f"central : flux refusé ({exc.status} {exc.code}) : {exc.detail}", file=sys.stderr
            )
            return 1
    return 0


def _in_transaction(args: argparse.Namespace, work: Callable[[Session], T]) -> T:
    """One administrator's change, in one transaction on the database the flags name."""
    from central.db import make_engine, make_sessionmaker

    engine = make_engine(_settings(args).database_url)
    try:
        with make_sessionmaker(engine)() as db, db.begin():
            return work(db)
    finally:
        engine.dispose()


def _cmd_kiosk_revoke(args: argparse.Namespace) -> int:
    from central.db import utcnow
    from central.sync.service import revoke

    site = _in_transaction(args, lambda db: revoke(db, args.kiosk_id, utcnow()).site)
    print(f"kiosque {args.kiosk_id} ({site}) révoqué : ses actions seront refusées")
    return 0


def _cmd_kiosk_clear(args: argparse.Namespace) -> int:
    from central.db import utcnow
    from central.sync.service import clear

    def work(db: Session) -> tuple[str, str]:
        kiosk, reason = clear(db, args.kiosk_id, utcnow())
        return kiosk.site, reason

    site, reason = _in_transaction(args, work)
    print(f"kiosque {args.kiosk_id} ({site}) remis en service ; il était signalé : {reason}")
    return 0


def _cmd_card_revoke(args: argparse.Namespace) -> int:
    from central.db import utcnow
    from central.professionals.revocation import revoke_card

    new = _in_transaction(args, lambda db: revoke_card(db, args.id_nat, now=utcnow()))
    print(
        f"carte {args.id_nat} révoquée : plus de connexion, ses sessions ouvertes s'arrêtent"
        if new
        else f"carte {args.id_nat} déjà révoquée"
    )
    return 0


def _audit_key(settings: Settings) -> bytes | None:
    # The command line never creates the key: a new one would only hide the lost one.
    # No key at all is told only if there are entries to check.
    if not settings.audit_key_path().exists():
        return None
    return settings.audit_key(create=False)


def _cmd_audit_head(args: argparse.Namespace) -> int:
    from central.audit.service import AuditLog
    from central.db import make_engine, make_sessionmaker

    settings = _settings(args)
    key = _audit_key(settings)
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine)() as db:
        result = AuditLog.head(db, key=key)
    engine.dispose()
    if not result.ok:
        return _audit_failed(settings, result)
    print(result.head)  # alone on its line: to be kept elsewhere and given to --expect-head
    return 0


def _cmd_audit_verify(args: argparse.Namespace) -> int:
    from central.audit.service import AuditLog, ChainHead, read_anchor
    from central.db import make_engine, make_sessionmaker

    settings = _settings(args)
    expect = None
    if args.expect_head is not None:
        try:
            expect = ChainHead.parse(args.expect_head)
        except ServiceError:
            print(
                "central : tête attendue illisible : donnez-la telle que « central audit head »"
                " l'affiche (NUMÉRO:EMPREINTE)",
                file=sys.stderr,
            )
            return 2
    key = _audit_key(settings)
    if expect is None:  # the last head the service sealed, kept beside the key
        anchored = read_anchor(settings.audit_key_path().with_name("audit.head"))
        expect = anchored if anchored.seq else None
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine)() as db:
        result = AuditLog.verify(db, key=key, expect=expect)
    engine.dispose()
    if not result.ok:
        return _audit_failed(settings, result)
    pending = f", {result.pending} en attente de scellement" if result.pending else ""
    checked = f", tête attendue {expect.seq} présente" if expect is not None else ""
    chains = f"{result.chains} chaîne{'s' if result.chains > 1 else ''}"
    roots = f"{result.roots} racine{'s' if result.roots > 1 else ''}"
    print(
        f"OK : {result.entries} entrées, {chains} et {roots} intactes{checked}{pending} ;"
        f" tête {result.head}"
    )
    return 0


def _audit_failed(settings: Settings, result: VerifyResult) -> int:
    from central.audit.service import LEGACY_CHAIN, ChainProblem

    seq, problem = result.first_bad_seq, result.problem or ChainProblem.CHANGED
    if result.chain is None:  # a root
        line = {
            ChainProblem.DELETED: f"racine {seq} supprimée",
            ChainProblem.CHANGED: f"racine {seq} modifiée (ou refaite sans la clé)",
            ChainProblem.LINK_BROKEN: f"racine {seq} déplacée (ou une racine avant elle supprimée)",
            ChainProblem.TAIL_DELETED: f"racine {seq} et suivantes supprimées (fin des racines)",
            ChainProblem.HEAD_MOVED: (
                f"la tête enregistrée (racine {seq}) n'est pas la dernière racine"
            ),
            ChainProblem.WRONG_KEY: (
                f"la clé d'audit {settings.audit_key_path()} n'est pas celle qui a scellé la"
                " chaîne (ou la racine 1 a été modifiée) : indiquez la bonne clé"
                " (CENTRAL_AUDIT_KEY_FILE)"
            ),
            ChainProblem.EXPECTED_HEAD_MISSING: (
                f"la tête attendue n'est plus dans la chaîne, qui s'arrête à la racine"
                f" {result.roots} : des entrées ont été supprimées à la fin"
            ),
            ChainProblem.EXPECTED_HEAD_DIFFERS: (
                f"racine {seq} différente de la tête attendue : la chaîne a été refaite depuis"
            ),
        }.get(problem)
    else:
        chain = (
            "chaîne d'avant le partage"
            if result.chain == LEGACY_CHAIN
            else f"chaîne {result.chain}"
        )
        before = f"({chain}, {result.entries} entrées vérifiées avant elle)"
        listed = f" (la racine {result.root} la listait)" if result.root is not None else ""
        line = {
            ChainProblem.DELETED: f"entrée {seq} supprimée {before}",
            ChainProblem.CHANGED: f"entrée {seq} modifiée ou déplacée {before}",
            ChainProblem.LINK_BROKEN: (
                f"entrée {seq} déplacée (ou une entrée avant elle supprimée) {before}"
            ),
            ChainProblem.TAIL_DELETED: (
                f"entrée {seq} et suivantes supprimées (fin de la {chain}){listed}"
            ),
            ChainProblem.HEAD_MOVED: (
                f"la tête enregistrée (entrée {seq}) n'est pas la dernière entrée de la {chain}"
            ),
            ChainProblem.WRONG_KEY: (
                f"la clé d'audit {settings.audit_key_path()} n'est pas celle qui a scellé la"
                f" chaîne (ou l'entrée 1 de la {chain} a été modifiée) : indiquez la bonne clé"
                " (CENTRAL_AUDIT_KEY_FILE)"
            ),
            ChainProblem.UNKEYED: (
                f"entrée 1 : chaîne scellée sans clé ({chain} : version antérieure à la clé"
                " d'audit, ou chaîne refaite par quelqu'un qui n'a pas la clé)"
            ),
            ChainProblem.REWRITTEN: (
                f"entrée {seq} différente de celle que la racine {result.root} listait ({chain}) :"
                " la chaîne a été refaite depuis"
            ),
            ChainProblem.UNROOTED: (
                f"entrée {seq} et suivantes scellées hors de toute racine ({chain}) : des racines"
                " ont été supprimées à la fin"
            ),
        }.get(problem)
    if problem is ChainProblem.UNCHAINED:  # in no chain, or one it does not belong to
        line = (
            f"une entrée marquée scellée (numéro {seq}) n'est dans aucune chaîne vérifiée :"
            " ajoutée ou modifiée dans la base, elle ne doit pas être crue"
        )
    if problem is ChainProblem.NO_KEY:
        line = (
            f"clé d'audit introuvable : {settings.audit_key_path()} ; la chaîne ne peut être"
            " vérifiée sans elle : remettez la clé sauvegardée ou indiquez son chemin"
            " (CENTRAL_AUDIT_KEY_FILE)"
        )
    print(f"audit : {line or f'{problem} en {seq}'}", file=sys.stderr)
    return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="central", description="Service central DMP")
    parser.add_argument("--version", action="version", version="central 0.1.0")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="URL SQLAlchemy (défaut : SQLite dans CENTRAL_HOME)")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", parents=[common], help="démarre le service")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--identities", type=Path, help="registre des identités (JSON)")
    serve.set_defaults(handler=_cmd_serve)
    sub.add_parser("migrate", parents=[common], help="met le schéma à jour").set_defaults(
        handler=_cmd_migrate
    )
    token = sub.add_parser(
        "enroll-token", parents=[common], help="jeton d'enrôlement d'un kiosque ou du flux"
    )
    token.add_argument("--site", required=True)
    token.add_argument("--hours", type=int, default=72)
    token.add_argument(
        "--kind",
        choices=["kiosk", "insurance"],
        default="kiosk",
        help="kiosk (défaut) ou insurance : le flux des soins remboursés de l'Assurance Maladie",
    )
    token.set_defaults(handler=_cmd_enroll_token)
    feed = sub.add_parser("feed", help="flux des soins remboursés (client de l'Assurance Maladie)")
    feed_sub = feed.add_subparsers(dest="feed_command", required=True)
    feed_common = argparse.ArgumentParser(add_help=False)
    feed_common.add_argument("--central", required=True, help="URL du service central")
    feed_common.add_argument(
        "--credentials", type=Path, help="clé du flux (défaut : CENTRAL_HOME/insurance-feed.json)"
    )
    feed_enroll = feed_sub.add_parser(
        "enroll", parents=[feed_common], help="enrôle le flux avec un jeton à usage unique"
    )
    feed_enroll.add_argument(
        "--token-file", required=True, help="fichier du jeton à usage unique, ou - (entrée)"
    )
    feed_enroll.set_defaults(handler=_cmd_feed_enroll)
    feed_run = feed_sub.add_parser(
        "run", parents=[feed_common], help="verse 24 mois de soins aux dossiers qui les attendent"
    )
    feed_run.add_argument("--once", action="store_true", help="un seul passage")
    feed_run.add_argument("--interval", type=float, default=60.0, help="secondes entre passages")
    feed_run.add_argument("--seed", type=int, default=0, help="graine du générateur de soins")
    feed_run.add_argument("--codes", type=Path, help="table des codes (fixtures/care/codes.json)")
    feed_run.set_defaults(handler=_cmd_feed_run)
    kiosk = sub.add_parser("kiosk", help="kiosques enrôlés")
    kiosk_sub = kiosk.add_subparsers(dest="kiosk_command", required=True)
    revoke = kiosk_sub.add_parser("revoke", parents=[common], help="révoque un kiosque")
    revoke.add_argument("kiosk_id")
    revoke.set_defaults(handler=_cmd_kiosk_revoke)
    clear = kiosk_sub.add_parser(
        "clear", parents=[common], help="remet en service un kiosque signalé (fourche...)"
    )
    clear.add_argument("kiosk_id")
    clear.set_defaults(handler=_cmd_kiosk_clear)
    card = sub.add_parser("card", help="cartes professionnelles")
    card_sub = card.add_subparsers(dest="card_command", required=True)
    card_revoke = card_sub.add_parser(
        "revoke", parents=[common], help="révoque une carte perdue ou volée"
    )
    card_revoke.add_argument("id_nat", help="identifiant national de la carte (RPPS, ADELI...)")
    card_revoke.set_defaults(handler=_cmd_card_revoke)
    audit = sub.add_parser("audit", help="journal d'audit")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    audit_sub.add_parser(
        "head", parents=[common], help="affiche la tête de la chaîne, à conserver ailleurs"
    ).set_defaults(handler=_cmd_audit_head)
    verify = audit_sub.add_parser("verify", parents=[common], help="vérifie la chaîne")
    verify.add_argument(
        "--expect-head",
        metavar="NUMÉRO:EMPREINTE",
        help="tête affichée plus tôt par « central audit head » : doit être encore dans la chaîne",
    )
    verify.set_defaults(handler=_cmd_audit_verify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `central` command."""
    args = _parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except ServiceError as exc:
        print(f"central : {exc.detail}", file=sys.stderr)
    except OperationalError as exc:
        print(f"central : base de données injoignable ({type(exc.orig).__name__})", file=sys.stderr)
    except SQLAlchemyError as exc:
        print(f"central : erreur de base de données ({type(exc).__name__})", file=sys.stderr)
    except OSError as exc:
        print(
            f"central : {exc.strerror or exc} ({getattr(exc, 'filename', '') or ''})",
            file=sys.stderr,
        )
    except KeyboardInterrupt:
        return 130
    return 1


if __name__ == "__main__":
    sys.exit(main())
