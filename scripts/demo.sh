#!/usr/bin/env bash
# `make demo`: see scripts/demo.py. pcscd with the virtual reader is started by `make system`.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python scripts/demo.py
