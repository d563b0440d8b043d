"""The `central` command line. Errors are one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy.exc import OperationalError, SQLAlchemyError

from central.config import Settings
from central.errors import ServiceError

__all__ = ["main"]


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
    from central.sync.service import issue_token

    settings = _settings(args)
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine)() as db, db.begin():
        token = issue_token(
            db, key=settings.secret_key(), site=args.site, hours=args.hours, now=utcnow()
        )
    engine.dispose()
    print(f"jeton d'enrôlement pour « {args.site} », à usage unique, valable {args.hours} h :")
    print(token)
    return 0


def _cmd_kiosk_revoke(args: argparse.Namespace) -> int:
    from central.db import make_engine, make_sessionmaker, utcnow
    from central.sync.service import revoke

    settings = _settings(args)
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine)() as db, db.begin():
        kiosk = revoke(db, args.kiosk_id, utcnow())
        site = kiosk.site
    engine.dispose()
    print(f"kiosque {args.kiosk_id} ({site}) révoqué : ses actions seront refusées")
    return 0


def _cmd_audit_verify(args: argparse.Namespace) -> int:
    from central.audit.service import AuditLog
    from central.db import make_engine, make_sessionmaker

    settings = _settings(args)
    engine = make_engine(settings.database_url)
    with make_sessionmaker(engine)() as db:
        result = AuditLog.verify(db)
    engine.dispose()
    if result.ok:
        pending = f", {result.pending} en attente de scellement" if result.pending else ""
        print(f"OK : {result.entries} entrées, chaîne intacte{pending}")
        return 0
    print(
        f"audit : entrée {result.first_bad_seq} {_problem_fr(result.problem)} "
        f"({result.entries} entrées vérifiées avant elle)",
        file=sys.stderr,
    )
    return 1


def _problem_fr(problem: str) -> str:
    return {
        "deleted": "supprimée",
        "changed or moved": "modifiée ou déplacée",
        "link broken (moved or deleted before it)": "déplacée (ou une entrée avant elle supprimée)",
        "deleted (entries missing at the end)": "et suivantes supprimées (fin de la chaîne)",
    }.get(problem, problem)


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
    token = sub.add_parser("enroll-token", parents=[common], help="jeton d'enrôlement d'un kiosque")
    token.add_argument("--site", required=True)
    token.add_argument("--hours", type=int, default=72)
    token.set_defaults(handler=_cmd_enroll_token)
    kiosk = sub.add_parser("kiosk", help="kiosques enrôlés")
    kiosk_sub = kiosk.add_subparsers(dest="kiosk_command", required=True)
    revoke = kiosk_sub.add_parser("revoke", parents=[common], help="révoque un kiosque")
    revoke.add_argument("kiosk_id")
    revoke.set_defaults(handler=_cmd_kiosk_revoke)
    audit = sub.add_parser("audit", help="journal d'audit")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    audit_sub.add_parser("verify", parents=[common], help="vérifie la chaîne").set_defaults(
        handler=_cmd_audit_verify
    )
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
