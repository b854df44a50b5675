# Helpers the benchmark scripts share; `source` it after setting $namespace.

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
  echo "ipset restore < $2/ipset.txt && iptables-legacy-restore < $2/v4.txt && ip6tables-legacy-restore < $2/v6.txt && ebtables-nft-restore < $2/eb.txt"
}
