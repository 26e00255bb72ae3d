#!/usr/bin/env bash
# Builds the worker image's base (deploy/worker.Dockerfile, build arg BASE_IMAGE) without any
# public registry: a root filesystem of this Debian host's own binaries (node, mkfs.ext4, mount,
# umount, a static busybox for a shell), each with the shared libraries ldd names (those of the
# Temporal SDK's native addon too), and its CA certificates, imported with `docker import`.
#   deploy/base-from-host.sh [IMAGE]       (default caisson-base:host)
# Needs: node 22+, e2fsprogs, mount, busybox-static, ca-certificates, and docker reaching the engine.
set -euo pipefail

image=${1:-caisson-base:host}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

# Copies a file to the same path under the root, links resolved (mkfs.ext4 is a link to mke2fs).
put() {
  local source=$1
  mkdir -p "$root$(dirname "$source")"
  cp -L "$source" "$root$source"
}

# The shared libraries a program or native addon loads (and the loader itself).
put_libraries() {
  ldd "$1" 2>/dev/null | grep -o '/[^ ]*' | while read -r lib; do put "$lib"; done
}

put_program() {
  local program
  program=$(command -v "$1") || { echo "missing: $1" >&2; exit 1; }
  put "$program"
  put_libraries "$program"
}

for program in mkfs.ext4 mount umount; do put_program "$program"; done
# node goes where the image's PATH finds it, wherever this host keeps it (a version manager, the
# repository's .cache/node from scripts/node-runtime).
node_bin=$(command -v node) || { echo "missing: node" >&2; exit 1; }
mkdir -p "$root/usr/local/bin"
cp -L "$node_bin" "$root/usr/local/bin/node"
put_libraries "$node_bin"
# The Temporal SDK's native core loads libraries node does not (librt, …).
repo=$(cd "$(dirname "$0")/.." && pwd)
addon="$repo/node_modules/@temporalio/core-bridge/releases/$(uname -m)-unknown-linux-gnu/index.node"
[[ -f "$addon" ]] || { echo "missing: $addon (the repository's dependencies)" >&2; exit 1; }
put_libraries "$addon"
put "$(command -v busybox)"
for tool in sh ls cat env ps; do ln -sf "$(command -v busybox)" "$root/usr/bin/$tool"; done
mkdir -p "$root/bin" && ln -sf /usr/bin/sh "$root/bin/sh"
put /etc/ssl/certs/ca-certificates.crt
mkdir -p "$root/tmp" "$root/var/lib/caisson" "$root/etc"
chmod 1777 "$root/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"

tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
  - "$image"
echo "built $image"
