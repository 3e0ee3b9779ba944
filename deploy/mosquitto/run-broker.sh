#!/usr/bin/env bash
# The local MQTT broker of danemq: renders mosquitto.conf.in and runs
# Mosquitto in the foreground (it stops on SIGTERM/SIGINT).
#
# Used as the entrypoint of the Dockerfile's `broker` target (docker-compose
# `local` profile), by scripts/demo.sh and by the deployment topology test.
#
# Settings (environment):
#   BROKER_STATE_DIR  writable directory for the config and persistence (required)
#   BROKER_LISTEN     address to listen on (default 127.0.0.1)
#   BROKER_PORT       port (default 1883: the services' MQTT_PORT)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
state="${BROKER_STATE_DIR:?BROKER_STATE_DIR is not set}"
listen="${BROKER_LISTEN:-127.0.0.1}"
port="${BROKER_PORT:-1883}"
[[ "$port" =~ ^[0-9]+$ ]] || { echo "run-broker: BROKER_PORT must be a number" >&2; exit 1; }
command -v mosquitto >/dev/null || { echo "run-broker: mosquitto is not installed (deps/servers.txt)" >&2; exit 1; }

mkdir -p "$state"
# Started as root, Mosquitto drops to its own user: let that user keep the
# persistence file.
if [[ $(id -u) -eq 0 ]] && id mosquitto >/dev/null 2>&1; then
  chown mosquitto: "$state"
  runuser -u mosquitto -- test -w "$state" || {
    echo "run-broker: user mosquitto cannot write $state (are its parent directories searchable?)" >&2
    exit 1
  }
fi
sed -e "s|@STATE_DIR@|$state|g" -e "s|@BROKER_LISTEN@|$listen|g" -e "s|@BROKER_PORT@|$port|g" \
  "$here/mosquitto.conf.in" >"$state/mosquitto.conf"
exec mosquitto -c "$state/mosquitto.conf"
