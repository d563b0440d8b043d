"""`python -m central` is the `central` command."""

from __future__ import annotations

import sys

from central.cli import main

sys.exit(main())
