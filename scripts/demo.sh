#!/usr/bin/env bash
# The demo as far as the project goes today: pcscd with the virtual reader, a Carte Vitale in
# slot 0 and a pharmacist's CPS in slot 1, both read through PC/SC. The cards stay inserted
# until Ctrl-C, so that `kiosk readers` and `kiosk card read` can be tried in another terminal.
# DEMO_ONCE=1 reads once and stops (used by the tests).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
VITALE=${DEMO_VITALE:-fixtures/cards/vitale-parent-deux-enfants.json}
CPS=${DEMO_CPS:-fixtures/cards/cps-pharmacienne-lorient.json}

pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$BIN/python" -m drivers serve "$VITALE" --slot 0 & pids+=($!)
"$BIN/python" -m drivers serve "$CPS" --slot 1 & pids+=($!)

# pcscd notices a new card at its next presence poll (every 400 ms).
for _ in $(seq 1 50); do
    if [ "$("$BIN/kiosk" readers 2>/dev/null | grep -c 'carte présente')" -ge 2 ]; then break; fi
    sleep 0.1
done

echo
echo "== Lecteurs =="
"$BIN/kiosk" readers
echo
echo "== Carte Vitale (Virtual PCD 00 00) =="
"$BIN/kiosk" card read --reader "Virtual PCD 00 00"
echo
echo "== Carte professionnelle (Virtual PCD 00 01) =="
"$BIN/kiosk" card read --reader "Virtual PCD 00 01"
echo
if [ "${DEMO_ONCE:-0}" = "1" ]; then exit 0; fi
echo "Les cartes restent insérées : essayez « $BIN/kiosk card read --json » dans un autre terminal."
echo "Ctrl-C pour retirer les cartes et arrêter."
wait
