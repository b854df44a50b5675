#!/usr/bin/env bash
# Builds the Debian package: the static release binary (as README's install
# step builds it), the boot unit, a commented default configuration (a
# conffile), a man page made from --help, and the maintainer scripts that
# divert security_group.py and leave the binary in its place
# (packaging/debian). Needs no network beyond what the Swift build fetched.
#
#   scripts/package-deb.sh                       # .build-deb/security-groups_<version>-1_<arch>.deb
#   REVISION=2 OUT=/tmp/debs scripts/package-deb.sh
#
# Prints the package's path.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-$PWD/.build-deb}
revision=${REVISION:-1}
source scripts/install-deps.sh >/dev/null
swift build -c release --product security-groups --static-swift-stdlib --scratch-path .build-static >/dev/null
binary=$PWD/.build-static/release/security-groups
upstream=$("$binary" version | sed -n '1s/^security-groups //p')
version="$upstream-$revision"
arch=$(dpkg --print-architecture)
script_dir=/usr/share/cloudstack-common/scripts/vm/network

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
install -D -m 755 "$binary" "$root/usr/bin/security-groups"
# As dh_strip does: the symbols go, Swift's metadata sections stay.
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/security-groups"
# In the script's place, relative within /usr (the diversion moves the script aside).
mkdir -p "$root$script_dir"
ln -s ../../../../../bin/security-groups "$root$script_dir/security_group.py"
install -D -m 644 packaging/security-groups.conf "$root/etc/cloudstack/security-groups.conf"
install -d "$root/lib/systemd/system"
sed 's|/usr/local/bin/security-groups|/usr/bin/security-groups|; s|Install: see packaging/README.md.|Installed by the security-groups package.|' \
  packaging/security-groups-resync.service >"$root/lib/systemd/system/security-groups-resync.service"
chmod 644 "$root/lib/systemd/system/security-groups-resync.service"

doc=$root/usr/share/doc/security-groups
install -D -m 644 packaging/debian/copyright "$doc/copyright"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
sed "s/@VERSION@/$version/; s/@COMMIT@/$commit/; s/@DATE@/$(date -R -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)")/" \
  packaging/debian/changelog | gzip -9n >"$doc/changelog.Debian.gz"
chmod 644 "$doc/changelog.Debian.gz"

# The man page, from --help of the program and of each subcommand.
h2m=$stage/more.h2m
{
  echo "[AGENT COMMANDS]"
  echo "The commands of security_group.py, with its arguments, as CloudStack's KVM agent runs them through the link in its place ($script_dir/security_group.py COMMAND ...):"
  agent_commands=$("$binary" --help | tr '\n' ' ' | sed -n 's/.*with its arguments: \([a-zA-Z_, ]*\) (.*/\1/p' | tr -d ' ' | tr ',' ' ')
  [ -n "$agent_commands" ] || { echo "the agent's commands are missing from --help" >&2; exit 1; }
  for command in $agent_commands; do
    echo ".TP"; echo "\\fB$command\\fR"; "$binary" "$command" --help | sed 's/^usage: security-groups [^ ]* //; s/\\/\\e/g'
  done
  for command in apply resync status show plan demo version; do
    echo "[COMMAND: ${command^^}]"
    echo ".nf"
    "$binary" "$command" --help | sed 's/\\/\\e/g; s/^\([.'"'"']\)/\\\&\1/'
    echo ".fi"
  done
  echo "[FILES]"
  echo ".TP"; echo "/etc/cloudstack/security-groups.conf"; echo "Settings (layout, libvirt_uri, run_dir, state_dir, lock_file, log_file)."
  echo ".TP"; echo "$script_dir/security_group.py"; echo "A link to this program; the script is kept aside as security_group.py.distrib."
} >"$h2m"
install -d "$root/usr/share/man/man1"
help2man --no-info --no-discard-stderr --section 1 --version-string "$upstream" \
  --name "CloudStack KVM security groups, programmed in-process" --include "$h2m" "$binary" \
  | gzip -9n >"$root/usr/share/man/man1/security-groups.1.gz"
chmod 644 "$root/usr/share/man/man1/security-groups.1.gz"

# Dependencies: the shared libraries the binary links, with the versions
# their packages' symbols files ask for, and libvirt0 and libnftables1, which
# the binary loads when first used (no ldd sees them).
mkdir -p "$stage/source/debian"
printf 'Source: security-groups\n\nPackage: security-groups\nArchitecture: any\n' >"$stage/source/debian/control"
shlibs=$(cd "$stage/source" && dpkg-shlibdeps -O "$root/usr/bin/security-groups" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
depends="$shlibs, libvirt0, libnftables1"

install -d "$root/DEBIAN"
for file in preinst postinst prerm postrm; do install -m 755 "packaging/debian/$file" "$root/DEBIAN/$file"; done
echo /etc/cloudstack/security-groups.conf >"$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed "s/@VERSION@/$version/; s/@ARCH@/$arch/; s/@SIZE@/$size/; s/@DEPENDS@/$depends/" packaging/debian/control >"$root/DEBIAN/control"

mkdir -p "$out"
package=$out/security-groups_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$package" >/dev/null
echo "$package"
