#!/usr/bin/env bash
# The README's first command: danemq on one machine, with no network at all.
#
# Installs what is missing (apt), builds the three services (Release, in
# build/demo), then, in a temporary directory and on free loopback ports:
# starts a DNSSEC-signed test zone (Knot, validated by Unbound) and a
# Mosquitto broker that admits devices by their DANE identity (the
# danemq_mosquitto_auth.so plugin, on a TLS listener with a development CA;
# deploy/ holds their configs), creates the identities alice and bob in that
# zone, publishes their TLSA records by TSIG-signed dynamic update, starts
# bob's receiver, sends HELLO THERE from alice, shows bob's line, a client
# without a valid token refused, the broker's admissions and bob's `check`
# report, and stops everything it started.
#
# Environment: DEMO_BIN_DIR=<dir> uses the executables in <dir> instead of
# installing and building (the test suite runs the demo on its own build),
# and the plugin in <dir>/../lib; DEMO_KEEP=1 keeps the temporary directory
# (logs, identities, databases).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
zone="danemq.test"
alice="alice.$zone"
bob="bob.$zone"

say() { printf '\n== %s\n' "$*"; }
show() { # show <command...>: prints the command, then runs it
  printf '$ %s\n' "$*"
  "$@"
}
die() {
  echo "demo: $*" >&2
  exit 1
}

if [[ -n "${DEMO_BIN_DIR:-}" ]]; then
  bin="$(cd "$DEMO_BIN_DIR" && pwd)"
else
  say "Installing what is missing and building (build/demo)"
  scripts/install-deps.sh build test
  cmake -S . -B build/demo -G Ninja -DCMAKE_BUILD_TYPE=Release -DDANEMQ_WERROR=OFF \
    -DDANEMQ_BUILD_TESTS=OFF -DDANEMQ_BUILD_BENCH=OFF -DDANEMQ_BUILD_FUZZ=OFF >/dev/null
  cmake --build build/demo --target danemq-maintenance danemq-sender danemq-receiver danemq_mosquitto_auth
  bin="$root/build/demo/bin"
fi
for program in danemq-maintenance danemq-sender danemq-receiver; do
  [[ -x "$bin/$program" ]] || die "$bin/$program was not built"
done
plugin="$(cd "$bin/../lib" 2>/dev/null && pwd)/danemq_mosquitto_auth.so"
[[ -f "$plugin" ]] || die "$plugin (the broker plugin) was not built"
export PATH="$bin:$PATH"

work="$(mktemp -d "${TMPDIR:-/tmp}/danemq-demo.XXXXXX")"
# Mosquitto started as root runs as its own user: it must reach its directory.
chmod 0755 "$work"
pids=()
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ "${DEMO_KEEP:-}" == 1 ]]; then
    echo "demo: kept $work"
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Ports free on 127.0.0.1 for both TCP and UDP, all different.
read -r mqtt_port knot_port unbound_port < <(
  python3 - <<'EOF'
import socket
ports = set()
while len(ports) < 3:
    with socket.socket() as tcp:
        tcp.bind(("127.0.0.1", 0))
        port = tcp.getsockname()[1]
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                udp.bind(("127.0.0.1", port))
        except OSError:
            continue
        ports.add(port)
print(*ports)
EOF
)

wait_for() { # wait_for <seconds> <what> <log> <command...>
  local seconds="$1" what="$2" log="$3"
  shift 3
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    if ((SECONDS >= deadline)); then
      echo "demo: $what did not happen within $seconds s; the end of $log:" >&2
      tail -n 30 "$log" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
}

say "Starting a DNSSEC-signed zone ($zone) and an MQTT broker admitting devices by DNS, on 127.0.0.1"
tsig="hmac-sha256:danemq-demo:$(openssl rand -base64 32)"
DNS_STATE_DIR="$work/dns" DNS_ZONE="$zone" DNS_UPDATE_TSIG="$tsig" \
  KNOT_PORT="$knot_port" UNBOUND_PORT="$unbound_port" \
  deploy/dns/run-dns.sh >"$work/dns.log" 2>&1 &
pids+=($!)
# The broker's plugin validates the zone from its trust anchor, which the DNS
# server writes once it is ready (run-broker.sh waits for it); its TLS
# certificate comes from a development CA made in $work/broker/tls.
broker_name="broker.$zone"
BROKER_STATE_DIR="$work/broker" BROKER_PORT="$mqtt_port" BROKER_AUTH=dane BROKER_NAME="$broker_name" \
  BROKER_AUTH_PLUGIN="$plugin" BROKER_DNS_RESOLVER="127.0.0.1:$unbound_port" \
  BROKER_DNSSEC_VALIDATION=local BROKER_DNSSEC_TRUST_ANCHOR="$work/dns/trust-anchor" \
  deploy/mosquitto/run-broker.sh >"$work/broker.log" 2>&1 &
pids+=($!)
wait_for 40 "the DNS servers answering" "$work/dns.log" test -f "$work/dns/ready"
wait_for 20 "the broker listening" "$work/broker.log" grep -q "running" "$work/broker.log"
echo "broker $broker_name at 127.0.0.1:$mqtt_port (TLS, admission by DANE); resolver 127.0.0.1:$unbound_port (validating); zone updates 127.0.0.1:$knot_port (TSIG)"

# The settings every service of a device reads (the original's variables and
# the DNS ones), as docker-compose.local.yml's stack sets them: the receiver
# and the sender log in with a token signed by their identity key.
export MQTT_HOST=127.0.0.1 MQTT_PORT="$mqtt_port" MQTT_TLS_CA_FILE="$work/broker/tls/ca.crt"
export MQTT_AUTH=dane MQTT_AUTH_AUDIENCE="$broker_name"
export DNS_RESOLVER="127.0.0.1:$unbound_port" DNSSEC_VALIDATION=resolver
# One machine, one clock for sender and receiver: the receiver judges at once
# even where the kernel reports the clock as not synchronised (containers and
# build machines often do), instead of waiting for a synchronisation that
# never comes there. A device keeps the default (REQUIRE_SYNCED_CLOCK=1).
export REQUIRE_SYNCED_CLOCK="${REQUIRE_SYNCED_CLOCK:-0}"
as_device() { # as_device <name> <command...>: runs a command with that device's identity
  local name="$1"
  shift
  install -d -m 0700 "$work/$name" "$work/$name/identity" "$work/$name/data"
  IDENTITY_NAME="$name" CRYPTO_PATH="$work/$name/identity/" DATA_PATH="$work/$name/data/" "$@"
}

publish_tlsa() { # the TSIG key goes in the environment, never on screen
  printf '$ %s\n' "danemq-maintenance publish-tlsa"
  # The record holds the whole certificate in hex: show its beginning.
  DNS_UPDATE_SERVER="127.0.0.1:$knot_port" DNS_UPDATE_TSIG="$tsig" danemq-maintenance publish-tlsa |
    sed -E 's/([0-9a-f]{40})[0-9a-f]{40,}/\1.../'
}
for device in "$alice" "$bob"; do
  say "Identity $device: key, self-signed certificate, TLSA record published in DNS"
  as_device "$device" show danemq-maintenance create-selfsigned-id
  as_device "$device" publish_tlsa
done

say "Starting $bob's receiver"
# A simple command, so that $! is the receiver itself and cleanup stops it.
IDENTITY_NAME="$bob" CRYPTO_PATH="$work/$bob/identity/" DATA_PATH="$work/$bob/data/" \
  danemq-receiver >"$work/receiver.out" 2>"$work/receiver.log" &
pids+=($!)
wait_for 60 "bob's receiver in sync with DNS" "$work/receiver.log" \
  grep -qs "Reading .*$bob.key.pem" "$work/receiver.out" "$work/receiver.log"
grep -h "Reading .*$bob.key.pem" "$work/receiver.out" "$work/receiver.log" | head -n 1
# Admitted by the broker (a cold lookup may make it retry), then subscribed.
wait_for 60 "bob's receiver admitted by the broker" "$work/receiver.log" \
  grep -qs "MQTT connected to .* as $bob/receiver" "$work/receiver.out" "$work/receiver.log"
grep -h "MQTT connected to .* as $bob/receiver" "$work/receiver.out" "$work/receiver.log" | head -n 1

say "$alice sends HELLO THERE to $bob"
as_device "$alice" show danemq-sender send "$bob" "HELLO THERE"

say "$bob's receiver prints"
wait_for 30 "the message at bob's receiver" "$work/receiver.log" \
  grep -q "^$alice says: HELLO THERE$" "$work/receiver.out"
grep "^$alice says: HELLO THERE$" "$work/receiver.out"

say "A client without a valid token is refused"
if refused="$(show mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" --cafile "$MQTT_TLS_CA_FILE" -u "$alice" \
  -i "$alice/forged" -P not-a-token -t "$bob" -m FORGED 2>&1)"; then
  echo "$refused"
  die "the broker admitted a client without a valid token"
fi
echo "$refused"

say "The broker admitted and refused by DNS"
grep -E "danemq auth: (admitted|refused)" "$work/broker.log" | sed -E 's/^[0-9]+: //'

say "$bob's identity against DNS (check)"
as_device "$bob" show danemq-maintenance check

say "Done: stopping the receiver, the DNS servers and the broker"
