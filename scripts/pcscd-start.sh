#!/usr/bin/env bash
# Starts pcscd (with the vpcd driver from /etc/reader.conf.d) when it is not running,
# then waits until the two virtual slots answer.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if ! pgrep -x pcscd >/dev/null; then
    echo "bootstrap: starting pcscd"
    $SUDO mkdir -p /run/pcscd
    $SUDO pcscd
fi
for _ in $(seq 1 50); do
    if [ -S /run/pcscd/pcscd.comm ]; then exit 0; fi
    sleep 0.1
done
echo "bootstrap: pcscd did not start (no /run/pcscd/pcscd.comm)" >&2
exit 1
