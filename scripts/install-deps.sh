#!/usr/bin/env bash
# Installs what building, testing and the demo need on Debian 12 (as root).
# Swift 6.1 or later must already be on PATH (this project's machines ship it).
set -euo pipefail

packages=(
  pkg-config
  libiptc-dev libxtables-dev libipset-dev libvirt-dev libnftables-dev   # the C libraries our shims link (libvirt, libnftables: loaded when first used)
  iptables ipset iproute2 nftables                      # kernel tests (iptables-legacy, ebtables-nft, ipset, nft)
  dpkg-dev help2man lintian                             # the Debian package (scripts/package-deb.sh) and its check
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v swift >/dev/null 2>&1; then
  for candidate in /opt/swift/usr/bin /opt/swift/bin; do
    [ -x "$candidate/swift" ] && export PATH="$candidate:$PATH" && break
  done
fi
command -v swift >/dev/null 2>&1 || { echo "swift (6.1 or later) is not on PATH" >&2; exit 1; }
