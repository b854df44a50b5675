#!/usr/bin/env bash
# Builds the Debian package twice (revisions 1 and 2) and runs lintian on it;
# then, in a throwaway copy of this machine (an overlay of / in private mount
# and network namespaces: no file of the real root and nothing of the root
# namespace's netfilter changes), installs it over a stand-in
# security_group.py and checks the diversion, the link, the boot unit,
# `version` against the package, can_bridge_firewall and a VM programmed
# through the agent's path, the dependencies against what the binary links;
# upgrades keeping an edited configuration; removes it (the VM is returned to
# the classic layout first, the stand-in comes back byte for byte) and
# purges it. As root.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" != --inside ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  first=$(OUT=$work/debs REVISION=1 scripts/package-deb.sh)
  OUT=$work/debs REVISION=2 scripts/package-deb.sh >/dev/null
  lintian --fail-on error --tag-display-limit 0 "$first" | tee "$work/lintian.txt" || { echo "lintian: errors above" >&2; exit 1; }
  echo "lintian: $(grep -c '^W:' "$work/lintian.txt" || true) warning(s), no errors"
  unshare --mount --net --fork -- "$0" --inside "$work"
  exit 0
fi

# Inside the namespaces: / as an overlay whose writes land in a tmpfs.
work=$2
mount --make-rprivate /
mkdir -p "$work/layers"
mount -t tmpfs tmpfs "$work/layers"
mkdir -p "$work/layers/upper" "$work/layers/work" "$work/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$work/layers/upper,workdir=$work/layers/work" "$work/root"
root=$work/root
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
mount --rbind /dev "$root/dev"
mount -t tmpfs tmpfs "$root/run"
mount -t tmpfs tmpfs "$root/tmp"
cp "$work"/debs/*.deb "$root/tmp/"

chroot "$root" /bin/bash -euo pipefail -s <<'INSIDE'
fail() { echo "package test: $*" >&2; exit 1; }
# Listings are read whole before `grep -q`: a grep that stops at its first
# match kills a lister still writing, which pipefail counts as a failure.
script=/usr/share/cloudstack-common/scripts/vm/network/security_group.py
unit=/etc/systemd/system/multi-user.target.wants/security-groups-resync.service
config=/etc/cloudstack/security-groups.conf
export DEBIAN_FRONTEND=noninteractive
first=$(ls /tmp/security-groups_*-1_*.deb)
second=$(ls /tmp/security-groups_*-2_*.deb)
ip link set lo up
mkdir -p /run/lock

# A stand-in for cloudstack-common's script.
mkdir -p "$(dirname "$script")"
printf '#!/usr/bin/python3\n# stand-in for security_group.py\nprint("stand-in")\n' >"$script"
chmod 755 "$script"
cp -p "$script" /tmp/stand-in

dpkg -i "$first" >/dev/null
grep -q "diversion of $script to $script.distrib by security-groups" <<<"$(dpkg-divert --list "$script")" || fail "no diversion"
[ "$(readlink -f "$script")" = /usr/bin/security-groups ] || fail "$script is not our link"
cmp -s /tmp/stand-in "$script.distrib" || fail "the stand-in was not kept aside as it was"
[ -L "$unit" ] || fail "the boot unit is not enabled"
upstream=$(dpkg-query -W -f='${Version}' security-groups | sed 's/-[^-]*$//')
[ "$(security-groups version | head -n 1)" = "security-groups $upstream" ] || fail "version disagrees with the package ($upstream)"
grep -q '^\.SH "AGENT COMMANDS"' <<<"$(zcat /usr/share/man/man1/security-groups.1.gz)" || fail "the man page lacks the agent's commands"

# The dependencies: every library the binary links (found where ldd finds it)
# comes from a package it depends on.
depends=$(dpkg-query -W -f='${Depends}' security-groups)
packages=$(echo "$depends" | tr ',' '\n' | sed 's/^ *//; s/[ (].*//')
for needed in $(readelf -d /usr/bin/security-groups | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
  library=$(ldd /usr/bin/security-groups | awk -v name="$needed" '$1 == name {print $3} $1 ~ ("/" name "$") {print $1}')
  [ -n "$library" ] || fail "ldd cannot find $needed"
  owner=$(dpkg -S "$(readlink -f "$library")" 2>/dev/null | head -n 1 | cut -d: -f1) || owner=
  [ -z "$owner" ] && owner=$(dpkg -S "$library" | head -n 1 | cut -d: -f1)
  grep -qxF "$owner" <<<"$packages" || fail "links $library from $owner, which Depends ($depends) lacks"
done
grep -qxF libvirt0 <<<"$packages" || fail "no libvirt0 in Depends"

# The agent's path, in this network namespace, with libvirt's test driver.
cat >/etc/cloudstack/domains.xml <<'XML'
<node><domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'><name>i-2-7-VM</name>
<uuid>6f1d3c52-0000-4d4f-9d1c-000000000007</uuid><memory unit='KiB'>65536</memory><os><type arch='x86_64'>hvm</type></os>
<devices><interface type='bridge'><mac address='02:00:00:00:00:07'/><source bridge='cloudbr0'/><target dev='vnet7'/></interface></devices>
<test:runstate>1</test:runstate></domain></node>
XML
printf '# edited by the package test\nlibvirt_uri = test:///etc/cloudstack/domains.xml\n' >>"$config"
"$script" can_bridge_firewall --privnic eth0 || fail "can_bridge_firewall through $script exited $?"
"$script" default_network_rules --vmname i-2-7-VM --vmid 7 --vmip 10.1.0.7 --vmmac 02:00:00:00:00:07 --vif vnet7 \
  --brname cloudbr0 --isFirstNic || fail "default_network_rules exited $?"
"$script" add_network_rules --vmname i-2-7-VM --vmid 7 --vmip 10.1.0.7 --vmmac 02:00:00:00:00:07 --vif vnet7 --brname cloudbr0 \
  --sig 0123456789abcdef --seq 1 --rules 'I:tcp;22;22;0.0.0.0/0,NEXT;' || fail "add_network_rules exited $?"
# No layout set, netfilter = auto: where this host's `iptables` is the nf_tables
# variant, our own nf_tables tables (the native layout); else notrack, where
# iptables writes.
if [[ $(readlink -f /usr/sbin/iptables) == *nft* ]]; then
  native=$(nft list table ip cloudstack_sg)
  # The VM's default chain jumps to chains shared by content; its ssh rule is in one of them.
  grep -q 'chain i-2-7-def {' <<<"$native" && grep -q 'tcp dport 22 accept' <<<"$native" \
    || fail "no native rules for the VM on this nf_tables host"
  ! grep -q -- 'i-2-7-VM' <<<"$(iptables-save)" || fail "rules for the VM in the iptables tables beside the native ones"
else
  saved=$(iptables-save)
  grep -q -- '-A i-2-7-VM ' <<<"$saved" || fail "no rules for the VM where iptables writes"
  sets=$(ipset list -n)
  grep -q '^cs_notrack$' <<<"$sets" || fail "not the notrack layout"
fi

# An upgrade to a rebuilt package keeps the edited configuration.
dpkg -i "$second" >/dev/null
grep -q "edited by the package test" "$config" || fail "the upgrade lost the edited configuration"
[ "$(readlink -f "$script")" = /usr/bin/security-groups ] && cmp -s /tmp/stand-in "$script.distrib" || fail "the upgrade broke the diversion"

# Removal: the VM goes back to the script's rules, the script to its place.
dpkg -r security-groups >/dev/null
cmp -s /tmp/stand-in "$script" || fail "the stand-in is not back byte for byte"
[ ! -e "$script.distrib" ] || fail "$script.distrib is left"
! grep -q security-groups <<<"$(dpkg-divert --list)" || fail "the diversion is left"
[ ! -e "$unit" ] || fail "the boot unit is still enabled"
saved=$(iptables-save; ip6tables-save; ipset list -n)
grep -q -- '-A i-2-7-VM ' <<<"$saved" || fail "the VM lost its rules"
! grep -qE 'sg-|cs_' <<<"$saved" || fail "notrack objects are left for the script: $(echo "$saved" | grep -E 'sg-|cs_' | head -n 3)"
! grep -q cloudstack_sg <<<"$(nft list tables)" || fail "the native tables are left beside the script's rules"
[ -f "$config" ] && [ -d /var/lib/cloudstack/security-groups ] || fail "removal took the configuration or the state"

dpkg -P security-groups >/dev/null
[ ! -e "$config" ] && [ ! -e /var/lib/cloudstack/security-groups ] || fail "purge left the configuration or the state"
echo "package test: installed, diverted, ran, upgraded, removed and purged as expected"
INSIDE
