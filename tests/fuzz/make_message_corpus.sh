#!/usr/bin/env bash
# Regenerates tests/fuzz/corpus/message/: danemq's messages of every kind
# (jose_message_corpus, built with -DDANEMQ_BUILD_FUZZ=ON) plus the
# original's, made by Debian's python3-jwcrypto the way dane-jwe-jws makes
# them (tests/integration/jose/jwcrypto_peer.py), all with tests/fuzz/keys/.
#
# Usage: tests/fuzz/make_message_corpus.sh <build-dir>
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
build="${1:?usage: $0 <build-dir>}"
out="$root/tests/fuzz/corpus/message"
keys="$root/tests/fuzz/keys"
mkdir -p "$out"
"$build/bin/jose_message_corpus" "$out" >/dev/null
peer() {  # peer <sender> <recipient> <name> [--compact]
  local sender="$1" recipient="$2" name="$3"
  shift 3
  printf 'seed message from the original, %s to %s' "$sender" "$recipient" |
    /usr/bin/python3 "$root/tests/integration/jose/jwcrypto_peer.py" seal --key "$keys/$sender.key.pem" --name "$sender" \
      --peer "$recipient=$keys/$recipient.pub.pem" --to "$recipient" "$@" >"$out/original-$name"
}
peer alice.example bob.example rsa-to-rsa-json
peer alice.example bob.example rsa-to-rsa-compact --compact
peer erin.example frank.example ec-to-ec-json
peer alice.example frank.example rsa-to-ec-json
peer erin.example bob.example ec-to-rsa-json
ls "$out" | wc -l
