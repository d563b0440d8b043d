"""The `central` command line. Its commands arrive with the central service."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `central` command."""
    parser = argparse.ArgumentParser(prog="central", description="Service central DMP")
    parser.add_argument("--version", action="version", version="central 0.1.0")
    parser.parse_args(argv)
    parser.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
