# Helpers the benchmark scripts share; `source` it, then call `workspace NAME`.
# NETFILTER=nftables (default legacy) puts the iptables tables in nf_tables:
# our `netfilter` setting, the script's iptables and the restore floor use
# the -nft variants.
netfilter=${NETFILTER:-legacy}
variant=legacy; [ "$netfilter" = nftables ] && variant=nft

# $work (a temporary directory) and $namespace (NAME-<pid>), both deleted on
# exit, and the xtables lock in $work, away from the host's.
workspace() {
  work=$(mktemp -d)
  namespace=$1-$$
  trap 'ip netns delete "$namespace" 2>/dev/null || true; rm -rf "$work"' EXIT INT TERM
  export XTABLES_LOCKFILE=$work/xtables.lock
  # Commands run without a configuration of their own (`apply`) program $netfilter too.
  echo "netfilter = $netfilter" > "$work/netfilter.conf"
  export SECURITY_GROUPS_CONFIG=$work/netfilter.conf
}

in_ns() { ip netns exec "$namespace" "$@"; }
# Wall-clock seconds of a command (its output discarded).
seconds() { local start=$(date +%s.%N); "$@" >/dev/null; echo "$(date +%s.%N) - $start" | bc; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# The lines of `plan`'s output between the `# FROM` and `# TO` headers.
section() { sed -n "/^# $2\$/,/^# $3\$/p" "$1" | sed '1d;$d'; }

# Splits `plan`'s output ($1) into restore inputs in directory $2 and prints
# the shell command that restores them all (the kernel's floor).
restore_floor() {
  section "$1" iptables-save ip6tables-save > "$2/v4.txt"
  section "$1" ip6tables-save "ipset save" > "$2/v6.txt"
  section "$1" "ipset save" ebtables-save > "$2/ipset.txt"
  sed -n '/^# ebtables-save$/,$p' "$1" | sed '1d' > "$2/eb.txt"
  echo "ipset restore < $2/ipset.txt && iptables-$variant-restore < $2/v4.txt && ip6tables-$variant-restore < $2/v6.txt && ebtables-nft-restore < $2/eb.txt"
}

# Prepares the script ($1) to run in $work as the agent runs it, in a
# namespace: iptables-legacy (or -nft) and ebtables-nft under the names it calls, no
# modprobe, libvirt's test driver ($work/domains.xml), logs and lock in $work.
# Writes $work/security_group.py; `script_cmd ARGS` runs it in the namespace.
prepare_script() {
  /usr/bin/python3 -c 'import libvirt' 2>/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-libvirt >/dev/null
  mkdir -p "$work/shim" "$work/script-run/logs"
  for tool in iptables ip6tables; do
    ln -sf "/usr/sbin/$tool-$variant" "$work/shim/$tool"; ln -sf "/usr/sbin/$tool-$variant-save" "$work/shim/$tool-save"
  done
  ln -sf /usr/sbin/ebtables-nft "$work/shim/ebtables"; ln -sf /usr/sbin/ebtables-nft-save "$work/shim/ebtables-save"
  ln -sf /bin/true "$work/shim/modprobe"
  sed -e "s|^driver = \"[^\"]*\"|driver = \"test://$work/domains.xml\"|" \
      -e "s|^logpath = \"[^\"]*\"|logpath = \"$work/script-run/logs/\"|" \
      -e "s|\"/var/log/cloudstack/agent/security_group\\.log\"|\"$work/script-run/agent.log\"|" \
      -e "s|^lock_file = \"[^\"]*\"|lock_file = \"$work/script-run/sg.lock\"|" "$1" > "$work/security_group.py"
}
script_cmd() { in_ns env PATH="$work/shim:$PATH" /usr/bin/python3 "$work/security_group.py" "$@"; }

# Runs the script's commands for a host file's VMs one by one (as the agent
# would after a reboot); prints the seconds, or fails unless every VM got its chain.
script_one_by_one() {
  python3 benchmarks/resync/script-commands.py "$1" > "$work/script-cmds.txt"
  local start=$(date +%s.%N)
  while read -r line; do
    # shellcheck disable=SC2086
    script_cmd $line >/dev/null 2>&1 || true
  done < "$work/script-cmds.txt"
  local took=$(echo "$(date +%s.%N) - $start" | bc)
  local programmed=$(in_ns "iptables-$variant-save" | grep -c '^:i-2-[0-9]*-VM ' || true)
  local expected=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["vms"]))' "$1")
  [ "$programmed" = "$expected" ] || { echo "the script programmed $programmed of $expected VMs; see $work/script-run/agent.log" >&2; return 1; }
  echo "$took"
}
