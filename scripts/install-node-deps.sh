#!/usr/bin/env bash
# Installs the npm packages of deps/node.txt into a cache directory, as
# scripts/install-deps.sh installs Debian packages: only what is missing, so
# a second run needs no network.
# Usage: scripts/install-node-deps.sh [dir]   (default: build/node)
# Exit 0 when installed; 2 when Node is missing or older than 20.6 (what
# @balena/compose needs), so a caller can skip with that reason.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${1:-$root/build/node}"
if ! command -v node >/dev/null || ! node -e '
  const [major, minor] = process.versions.node.split(".").map(Number);
  process.exit(major > 20 || (major === 20 && minor >= 6) ? 0 : 1);'; then
  echo "install-node-deps: Node >= 20.6 is needed, found: $(node --version 2>/dev/null || echo none)" >&2
  exit 2
fi
missing=()
while read -r spec; do
  [[ -z "$spec" || "$spec" == \#* ]] && continue
  name="${spec%@*}"
  version="${spec##*@}"
  installed="$(node -e 'try { console.log(require(process.argv[1]).version) } catch (e) {}' \
    "$dir/node_modules/$name/package.json" 2>/dev/null || true)"
  [[ "$installed" == "$version" ]] || missing+=("$spec")
done <"$root/deps/node.txt"
if ((${#missing[@]})); then
  echo "installing (npm, into $dir): ${missing[*]}"
  mkdir -p "$dir"
  # No install scripts: the packages are used as plain JavaScript.
  npm install --prefix "$dir" --no-audit --no-fund --no-save --ignore-scripts --loglevel=error "${missing[@]}" >&2
fi
