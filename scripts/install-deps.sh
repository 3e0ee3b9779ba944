#!/usr/bin/env bash
# Installs the Debian packages listed in deps/<list>.txt that are missing.
# Usage: scripts/install-deps.sh build [test] [runtime]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
want=()
for list in "$@"; do
  while read -r pkg; do
    [[ -z "$pkg" || "$pkg" == \#* ]] && continue
    want+=("$pkg")
  done <"$root/deps/$list.txt"
done
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  sudo=""
  [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  # Debian's packaging starts daemons it installs (knot, unbound, mosquitto);
  # the tests start their own on high loopback ports, so keep the defaults off.
  printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
  $sudo chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
  $sudo rm -f /usr/sbin/policy-rc.d
fi
