#!/usr/bin/env bash
# Builds every target of the Dockerfile for real, without a Docker engine, and
# runs the service images:
#   1. the base image `debian:bookworm`, made here from the Debian archive this
#      machine's apt uses (debootstrap --variant=minbase, committed with
#      buildah; kept in the cache, so a second run reuses it),
#   2. every target with `buildah bud` (chroot isolation, host network, vfs
#      storage, no pull; --layers: the shared stages are built once; Docker
#      format, which keeps HEALTHCHECK),
#   3. each service image's commands with --help, as the image's non-root
#      user, and the HEALTHCHECK in the receiver image's configuration,
#   4. one round trip: a receiver container (identity and data volumes
#      mounted) receives a message from a sender container through a broker
#      and a DNSSEC-signed zone of the test rig (tests/deploy/image_round_trip.py).
# Prints its time. Needs root (buildah's chroot isolation), buildah and
# debootstrap (deps/test.txt), and the network to the Debian archive.
#
# Usage: scripts/build-images.sh [target...]     (default: every final target)
# IMAGE_CACHE: the buildah storage and the base image (default build/images).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
started=$SECONDS
cache="${IMAGE_CACHE:-$root/build/images}"
mkdir -p "$cache"
storage=(--root "$cache/storage" --runroot "$cache/run" --storage-driver vfs)
buildah() { command buildah "${storage[@]}" "$@"; }

# The final targets; building them builds every stage (build, runtime and
# servers are their bases), and a separate pass over a cached stage costs
# minutes with vfs storage.
all_targets=(broker dns maintenance sender receiver)
targets=("$@")
((${#targets[@]})) || targets=("${all_targets[@]}")

# The Debian archive apt uses here (deb822 or one-line sources).
debian_mirror() {
  local uri
  uri="$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -m1 '/debian$' || true)"
  [[ -n "$uri" ]] || uri="$(awk '$1 == "deb" && $2 ~ /\/debian$/ { print $2; exit }' /etc/apt/sources.list \
    /etc/apt/sources.list.d/*.list 2>/dev/null || true)"
  echo "${uri:-http://deb.debian.org/debian}"
}

# ---- 1. the base image ----
if ! buildah inspect --type image debian:bookworm >/dev/null 2>&1; then
  mirror="$(debian_mirror)"
  echo "base image: debootstrap --variant=minbase bookworm from $mirror"
  rm -rf "$cache/rootfs"
  debootstrap --variant=minbase bookworm "$cache/rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
  rm -rf "$cache/rootfs/var/cache/apt/archives/"*.deb "$cache/rootfs/var/lib/apt/lists/"*
  tar -C "$cache/rootfs" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -cf "$cache/rootfs.tar" .
  base="$(buildah from scratch)"
  buildah add "$base" "$cache/rootfs.tar" / >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd bash "$base"
  buildah commit --format docker "$base" debian:bookworm >/dev/null
  buildah rm "$base" >/dev/null
  rm -rf "$cache/rootfs" "$cache/rootfs.tar"
  echo "base image committed: debian:bookworm ($((SECONDS - started)) s)"
fi

# ---- 2. every target ----
for target in "${targets[@]}"; do
  step=$SECONDS
  echo "building target $target"
  buildah bud --isolation chroot --network host --pull=never --layers --format docker \
    --target "$target" --tag "danemq-$target:test" -f Dockerfile . >"$cache/build-$target.log" 2>&1 ||
    { tail -40 "$cache/build-$target.log" >&2; echo "target $target failed (log: $cache/build-$target.log)" >&2; exit 1; }
  echo "target $target built ($((SECONDS - step)) s)"
done

wanted() { [[ " ${targets[*]} " == *" $1 "* ]]; }
image_user() { buildah inspect --type image --format '{{.Docker.Config.User}}' "danemq-$1:test"; }

# ---- 3. the programs run as the image's non-root user ----
declare -A commands=(
  [maintenance]="danemq-maintenance create_selfsigned_id create_id_csr generate_tlsa"
  [sender]="danemq-sender send_message"
  [receiver]="danemq-receiver"
)
for service in maintenance sender receiver; do
  wanted "$service" || continue
  user="$(image_user "$service")"
  [[ -n "$user" && "$user" != 0* && "$user" != root* ]] || { echo "$service: runs as root ($user)" >&2; exit 1; }
  container="$(buildah from --pull=never "danemq-$service:test")"
  for command in ${commands[$service]}; do
    if ! buildah run --isolation chroot "$container" -- "$command" --help >"$cache/help.out" 2>&1; then
      cat "$cache/help.out" >&2
      echo "$service: $command --help failed as user $user" >&2
      exit 1
    fi
  done
  uid="$(buildah run --isolation chroot "$container" -- id -u)"
  [[ "$uid" != 0 ]] || { echo "$service: the programs run as root" >&2; exit 1; }
  buildah rm "$container" >/dev/null
  echo "$service: ${commands[$service]} --help run as uid $uid"
done
if wanted receiver; then
  health="$(buildah inspect --type image --format '{{.Docker.Config.Healthcheck}}' danemq-receiver:test)"
  [[ "$health" == *danemq-receiver*health* ]] || { echo "receiver image lost its HEALTHCHECK: $health" >&2; exit 1; }
  echo "receiver: HEALTHCHECK kept: $health"
fi

# ---- 4. a message from a sender container to a receiver container ----
if wanted maintenance && wanted sender && wanted receiver; then
  python3 tests/deploy/image_round_trip.py "${storage[@]}"
fi

echo "images: ${targets[*]} built and run in $((SECONDS - started)) s"
