"""`python -m drivers serve CARD.json --slot 0|1`: insert a virtual card until stopped;
`python -m drivers tray`: the demo card tray."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from drivers.cards import build_card
from drivers.image import ImageError, load_image
from drivers.vpcd import VirtualCardLink


def _serve(args: argparse.Namespace) -> int:
    try:
        image = load_image(args.card)
        card = build_card(image)
    except (ImageError, OSError, ValueError) as exc:
        print(f"drivers: cannot load {args.card}: {exc}", file=sys.stderr)
        return 2
    link = VirtualCardLink(card, slot=args.slot, host=args.host, tune_socket=not args.no_tune)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        link.remove()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        link.start(wait_s=args.wait)
    except ConnectionError as exc:
        print(f"drivers: {exc}; is pcscd running with vsmartcard-vpcd?", file=sys.stderr)
        return 1
    print(f"inserted: {image.label} (slot {args.slot})", flush=True)
    link.wait()
    print("removed" + (" (pulled out)" if link.pulled_out.is_set() else ""), flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m drivers`."""
    parser = argparse.ArgumentParser(prog="python -m drivers", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="insert a virtual card until stopped")
    serve.add_argument("card", help="card image (fixtures/cards/*.json)")
    serve.add_argument("--slot", type=int, choices=(0, 1), default=0)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--wait", type=float, default=10.0, help="seconds to wait for vpcd")
    serve.add_argument(
        "--no-tune",
        action="store_true",
        help="leave Nagle and delayed ACKs on (benchmark baseline)",
    )
    sub.add_parser("tray", help="the demo card tray (a Qt window)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.command == "tray":
        from drivers.tray import main as tray

        return tray()
    return _serve(args)


if __name__ == "__main__":
    sys.exit(main())
