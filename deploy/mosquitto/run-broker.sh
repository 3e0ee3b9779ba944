#!/usr/bin/env bash
# The local MQTT broker of danemq: renders mosquitto.conf.in and the listener
# of its mode, and runs Mosquitto in the foreground (it stops on
# SIGTERM/SIGINT).
#
# Used as the entrypoint of the Dockerfile's `broker` target (docker-compose
# `local` profile), by scripts/demo.sh and by the deployment topology test.
#
# Settings (environment):
#   BROKER_STATE_DIR  writable directory for the config and persistence (required)
#   BROKER_LISTEN     address to listen on (default 127.0.0.1)
#   BROKER_PORT       port (default 1883, 8883 with BROKER_AUTH=dane: the services' MQTT_PORT)
#   BROKER_AUTH       none (default): plain MQTT, anonymous clients;
#                     dane: a TLS listener, devices admitted by the
#                     danemq_mosquitto_auth.so plugin (README, "Admission by
#                     DANE identity") and nobody else
# With BROKER_AUTH=dane:
#   BROKER_NAME       the broker's name: the audience of the devices' tokens
#                     (their MQTT_AUTH_AUDIENCE) and the name in its certificate (required)
#   BROKER_DNS_RESOLVER        the plugin's resolver, ip[:port] (required)
#   BROKER_DNSSEC_VALIDATION   local (default) or resolver (a loopback resolver only)
#   BROKER_DNSSEC_TRUST_ANCHOR the trust anchor for local, e.g. the local DNS
#                     server's trust-anchor file, awaited up to 120 s (required for local)
#   BROKER_ALLOWED_NAMES       names and *.zone patterns admitted (default: any name DNS vouches for)
#   BROKER_AUTH_PLUGIN         the plugin (default /usr/local/lib/danemq/danemq_mosquitto_auth.so)
#   BROKER_TLS_DIR    the broker's certificate: ca.crt, broker.crt, broker.key
#                     (default $BROKER_STATE_DIR/tls). Files there are used
#                     as they are; missing ones are made at start: a
#                     development CA (ca.key, ca.crt) and a certificate for
#                     BROKER_NAME, localhost and 127.0.0.1 signed by it.
#   BROKER_CA_EXPORT_DIR       a directory that gets a copy of ca.crt, for the
#                     clients' MQTT_TLS_CA_FILE (optional)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
state="${BROKER_STATE_DIR:?BROKER_STATE_DIR is not set}"
listen="${BROKER_LISTEN:-127.0.0.1}"
auth="${BROKER_AUTH:-none}"
die() {
  echo "run-broker: $*" >&2
  exit 1
}
case "$auth" in
none) port="${BROKER_PORT:-1883}" ;;
dane) port="${BROKER_PORT:-8883}" ;;
*) die "BROKER_AUTH must be none or dane, not '$auth'" ;;
esac
[[ "$port" =~ ^[0-9]+$ ]] || die "BROKER_PORT must be a number"
command -v mosquitto >/dev/null || die "mosquitto is not installed (deps/servers.txt)"

mkdir -p "$state"
# Started as root, Mosquitto drops to its own user: let that user keep the
# persistence file.
as_root=0
if [[ $(id -u) -eq 0 ]] && id mosquitto >/dev/null 2>&1; then
  as_root=1
  chown mosquitto: "$state"
  runuser -u mosquitto -- test -w "$state" || die "user mosquitto cannot write $state (are its parent directories searchable?)"
fi

# The development certificate: a CA made once, and a broker certificate it
# signs for the names asked, made again when the names change (but never
# over a certificate someone put there).
make_development_tls() { # make_development_tls <dir> <broker name>
  local dir="$1" name="$2" san
  command -v openssl >/dev/null || die "openssl is not installed (deps/servers.txt)"
  mkdir -p "$dir"
  if [[ "$name" =~ ^[0-9.]+$ || "$name" == *:* ]]; then san="IP:$name"; else san="DNS:$name"; fi
  san="$san,DNS:localhost,IP:127.0.0.1"
  if [[ ! -f "$dir/ca.crt" ]]; then
    [[ ! -f "$dir/broker.crt" ]] || die "$dir has broker.crt but no ca.crt"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
      -subj "/CN=danemq development CA" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null || die "openssl could not make the development CA"
    echo "run-broker: made a development CA in $dir/ca.crt (replace it with your own: see the README)"
  fi
  if [[ -f "$dir/broker.crt" && -f "$dir/broker.key" ]]; then
    [[ -f "$dir/broker.names" && "$(cat "$dir/broker.names")" != "$san" ]] || return 0
  fi
  [[ -f "$dir/ca.key" ]] || die "$dir has no broker.crt and broker.key, and no ca.key to sign one"
  printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n' "$san" \
    >"$dir/broker.ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" \
    -keyout "$dir/broker.key" -out "$dir/broker.csr" 2>/dev/null || die "openssl could not make the broker's key"
  openssl x509 -req -in "$dir/broker.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 825 -extfile "$dir/broker.ext" -out "$dir/broker.crt" 2>/dev/null ||
    die "openssl could not sign the broker's certificate"
  rm -f "$dir/broker.csr" "$dir/broker.ext"
  printf '%s\n' "$san" >"$dir/broker.names"
  echo "run-broker: made a certificate for $san signed by $dir/ca.crt"
}

render() { # render <template>: the template with the placeholders replaced
  sed -e "s|@STATE_DIR@|$state|g" -e "s|@BROKER_LISTEN@|$listen|g" -e "s|@BROKER_PORT@|$port|g" \
    -e "s|@TLS_DIR@|${tls:-}|g" -e "s|@PLUGIN@|${plugin:-}|g" -e "s|@BROKER_NAME@|${name:-}|g" \
    -e "s|@DNS_RESOLVER@|${resolver:-}|g" -e "s|@DNSSEC_VALIDATION@|${validation:-}|g" "$1"
}

config="$state/mosquitto.conf"
if [[ "$auth" == dane ]]; then
  name="${BROKER_NAME:?BROKER_NAME is not set (the audience of the devices tokens)}"
  resolver="${BROKER_DNS_RESOLVER:?BROKER_DNS_RESOLVER is not set}"
  validation="${BROKER_DNSSEC_VALIDATION:-local}"
  plugin="${BROKER_AUTH_PLUGIN:-/usr/local/lib/danemq/danemq_mosquitto_auth.so}"
  tls="${BROKER_TLS_DIR:-$state/tls}"
  [[ -r "$plugin" ]] || die "the plugin $plugin is missing"
  make_development_tls "$tls" "$name"
  if [[ -n "${BROKER_CA_EXPORT_DIR:-}" && -f "$tls/ca.crt" ]]; then
    # Not fatal: the broker serves clients that have the CA in other ways too.
    { cp "$tls/ca.crt" "$BROKER_CA_EXPORT_DIR/ca.crt.tmp" &&
      mv "$BROKER_CA_EXPORT_DIR/ca.crt.tmp" "$BROKER_CA_EXPORT_DIR/ca.crt"; } ||
      echo "run-broker: could not copy ca.crt to $BROKER_CA_EXPORT_DIR" >&2
  fi
  if ((as_root)); then chown -R mosquitto: "$tls"; fi
  { render "$here/mosquitto.conf.in" && render "$here/listener-dane.conf.in"; } >"$config"
  if [[ "$validation" == local ]]; then
    anchor="${BROKER_DNSSEC_TRUST_ANCHOR:?BROKER_DNSSEC_TRUST_ANCHOR is not set (needed by BROKER_DNSSEC_VALIDATION=local)}"
    # In the local stack the DNS server writes it at its first start.
    for ((waited = 0; waited < 600; waited++)); do
      [[ -f "$anchor" ]] && break
      ((waited % 50)) || echo "run-broker: waiting for the trust anchor $anchor"
      sleep 0.2
    done
    [[ -f "$anchor" ]] || die "the trust anchor $anchor did not appear"
    echo "plugin_opt_dnssec_trust_anchor $anchor" >>"$config"
  fi
  if [[ -n "${BROKER_ALLOWED_NAMES:-}" ]]; then
    echo "plugin_opt_allowed_names $BROKER_ALLOWED_NAMES" >>"$config"
  fi
else
  { render "$here/mosquitto.conf.in" && render "$here/listener-none.conf.in"; } >"$config"
fi
exec mosquitto -c "$config"
