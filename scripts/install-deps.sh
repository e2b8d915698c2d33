#!/usr/bin/env bash
# Installs the Debian packages given as arguments that are not installed yet.
# Used by `make check`; needs root (or sudo) only when something is missing.
set -euo pipefail
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
    || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
# tshark's package asks whether non-root users may capture: answer no.
if printf '%s\n' "${missing[@]}" | grep -qx 'tshark'; then
  echo 'wireshark-common wireshark-common/install-setuid boolean false' \
    | $sudo debconf-set-selections
fi
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
