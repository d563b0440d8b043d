#!/usr/bin/env bash
# Installs the Debian packages the kiosk needs and starts pcscd with the vpcd virtual reader.
# Idempotent: run it as often as you like. Uses sudo when not root.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Qt offscreen and its text need these libraries and a font (without one, text is boxes).
PACKAGES=(pcscd vsmartcard-vpcd libpcsclite-dev pcsc-tools gcc python3-venv python3-dev
    fonts-dejavu-core libgl1 libegl1 libxkbcommon0 libfontconfig1 libglib2.0-0 libdbus-1-3
    # Qt's xcb platform, for `make demo` on a real screen (offscreen does without them)
    libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
    libxcb-shape0 libxcb-xkb1 libxkbcommon-x11-0
    chromium  # the patient portal's browser tests (Playwright drives it, no download)
    tzdata)  # Paris time in what the patient reads (zoneinfo reads the system's database)
# node and npm run the FHIR tests' second validator (tests/fhir_validator); a node already
# installed another way (its own npm inside) is kept.
command -v node >/dev/null || PACKAGES+=(nodejs)
command -v npm >/dev/null || PACKAGES+=(npm)

missing=()
for pkg in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

"$(dirname "$0")/pcscd-start.sh"
