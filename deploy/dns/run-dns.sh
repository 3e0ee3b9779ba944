#!/usr/bin/env bash
# The local DNS of danemq: Knot serves a DNSSEC-signed test zone that accepts
# TSIG-signed updates of TLSA records, and Unbound validates its answers
# against the zone's key. Both run in the foreground under this script, which
# stops both on SIGTERM/SIGINT and exits when either of them stops.
#
# Used as the entrypoint of the Dockerfile's `dns` target (docker-compose
# `local` profile), by scripts/demo.sh and by the deployment topology test.
#
# Settings (environment):
#   DNS_STATE_DIR   writable directory for keys, zone, configs (required)
#   DNS_UPDATE_TSIG algorithm:keyname:base64secret, the key updates must be
#                   signed with (required; the same setting as the one
#                   danemq-maintenance publish-tlsa signs with)
#   DNS_ZONE        the test zone (default danemq.test)
#   DNS_LISTEN      address both servers listen on (default 127.0.0.1)
#   KNOT_PORT       Knot's port: the services' DNS_UPDATE_SERVER (default 5300)
#   UNBOUND_PORT    Unbound's port: the services' DNS_RESOLVER (default 5353)
#   DNS_ACCESS      network allowed to ask Unbound (default 127.0.0.0/8)
#   DNS_NS_ADDRESS  address of the zone's NS record (default: DNS_LISTEN)
#
# Once both answer, it writes $DNS_STATE_DIR/trust-anchor (the zone's DS, for
# DNSSEC_VALIDATION=local) and $DNS_STATE_DIR/ready, and prints one line.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() {
  echo "run-dns: $*" >&2
  exit 1
}

state="${DNS_STATE_DIR:?DNS_STATE_DIR is not set}"
tsig="${DNS_UPDATE_TSIG:?DNS_UPDATE_TSIG is not set (algorithm:keyname:base64secret)}"
zone="${DNS_ZONE:-danemq.test}"
zone="${zone%.}"
listen="${DNS_LISTEN:-127.0.0.1}"
knot_port="${KNOT_PORT:-5300}"
unbound_port="${UNBOUND_PORT:-5353}"
access="${DNS_ACCESS:-127.0.0.0/8}"
# Where the servers are reached from this host (a wildcard listen address is
# not a destination).
local_address="$listen"
automatic=no
if [[ "$listen" == "0.0.0.0" ]]; then
  local_address="127.0.0.1"
  automatic=yes
fi
ns_address="${DNS_NS_ADDRESS:-$local_address}"

IFS=: read -r tsig_algorithm tsig_name tsig_secret <<<"$tsig"
[[ -n "$tsig_algorithm" && -n "$tsig_name" && -n "$tsig_secret" ]] ||
  die "DNS_UPDATE_TSIG must be algorithm:keyname:base64secret"
case "$tsig_algorithm" in
  hmac-sha256 | hmac-sha384 | hmac-sha512) ;;
  *) die "DNS_UPDATE_TSIG: algorithm '$tsig_algorithm' (expected hmac-sha256, hmac-sha384 or hmac-sha512)" ;;
esac
[[ "$knot_port" =~ ^[0-9]+$ && "$unbound_port" =~ ^[0-9]+$ ]] || die "KNOT_PORT and UNBOUND_PORT must be numbers"

for program in knotd keymgr kdig unbound; do
  command -v "$program" >/dev/null || die "$program is not installed (deps/servers.txt)"
done

mkdir -p "$state/knot/run" "$state/knot/db" "$state/knot/zones" "$state/unbound"
rm -f "$state/ready"

render() {
  sed -e "s|@STATE_DIR@|$state|g" \
    -e "s|@ZONE@|$zone|g" \
    -e "s|@KNOT_LISTEN@|$listen|g" \
    -e "s|@KNOT_ADDRESS@|$local_address|g" \
    -e "s|@KNOT_PORT@|$knot_port|g" \
    -e "s|@UNBOUND_LISTEN@|$listen|g" \
    -e "s|@UNBOUND_PORT@|$unbound_port|g" \
    -e "s|@UNBOUND_AUTOMATIC@|$automatic|g" \
    -e "s|@DNS_ACCESS@|$access|g" \
    -e "s|@NS_ADDRESS@|$ns_address|g" \
    -e "s|@TSIG_NAME@|$tsig_name|g" \
    -e "s|@TSIG_ALGORITHM@|$tsig_algorithm|g" \
    -e "s|@TSIG_SECRET@|$tsig_secret|g" \
    "$1"
}

(umask 077 && render "$here/knot.conf.in" >"$state/knot.conf")
# The zone file is written once: Knot flushes published records into it, so
# a restart (docker-compose restart: always) keeps the identities.
zone_file="$state/knot/zones/$zone.zone"
[[ -s "$zone_file" ]] || render "$here/zone.in" >"$zone_file"
render "$here/unbound.conf.in" >"$state/unbound.conf"

knot_pid=""
unbound_pid=""
# shellcheck disable=SC2317 # called from the traps
stop_servers() {
  trap - TERM INT
  rm -f "$state/ready"
  if [[ -n "$unbound_pid" ]]; then kill -TERM "$unbound_pid" 2>/dev/null || true; fi
  if [[ -n "$knot_pid" ]]; then kill -TERM "$knot_pid" 2>/dev/null || true; fi
  wait 2>/dev/null || true
}
trap 'stop_servers; exit 0' TERM INT
trap 'stop_servers' EXIT

ask() { # ask <port> <type> [kdig options]: answer section and flags
  local port="$1" type="$2"
  shift 2
  kdig @"$local_address" -p "$port" +timeout=1 +retry=0 "$@" "$zone" "$type" 2>/dev/null
}

knotd -c "$state/knot.conf" &
knot_pid=$!

# Knot generates the zone's key and signs the zone at its first load.
deadline=$((SECONDS + 30))
while ((SECONDS < deadline)); do
  kill -0 "$knot_pid" 2>/dev/null || die "knotd stopped (see its log above)"
  if ask "$knot_port" DNSKEY +dnssec +norec | grep -q "RRSIG.*DNSKEY"; then break; fi
  sleep 0.1
done
ask "$knot_port" DNSKEY +dnssec +norec | grep -q "RRSIG.*DNSKEY" || die "Knot did not serve a signed $zone"

keymgr -c "$state/knot.conf" "$zone" ds >"$state/trust-anchor.tmp" || die "keymgr could not export the DS of $zone"
grep -q "DS" "$state/trust-anchor.tmp" || die "keymgr gave no DS for $zone"
mv "$state/trust-anchor.tmp" "$state/trust-anchor"
cp "$state/trust-anchor" "$state/trust-anchor.ds"

unbound -d -c "$state/unbound.conf" &
unbound_pid=$!

# Ready when Unbound answers for the zone with a validated (AD) answer.
validated() { ask "$unbound_port" SOA +dnssec | grep -Eq '^;; Flags: .*\<ad\>'; }
deadline=$((SECONDS + 30))
while ((SECONDS < deadline)); do
  kill -0 "$unbound_pid" 2>/dev/null || die "unbound stopped (see its log above)"
  if validated; then break; fi
  sleep 0.1
done
validated || die "Unbound does not validate $zone"

touch "$state/ready"
echo "dns ready: zone $zone (DNSSEC-signed), resolver $local_address:$unbound_port, update server $local_address:$knot_port (TSIG key $tsig_name)"

# Whichever server stops first takes the other with it.
set +e
wait -n "$knot_pid" "$unbound_pid"
status=$?
echo "run-dns: a DNS server stopped (status $status); stopping the other" >&2
exit "$status"
