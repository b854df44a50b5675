#!/usr/bin/env bash
# The chart of benchmarks/datapath/run.sh's table (TABLE, its output): open
# VM, IPv4 UDP packets per second received against the number of VMs, per
# layout, with the bridge's own limit (no rules).
#
#   benchmarks/datapath/chart.sh TABLE.md OUT.png
set -euo pipefail
table=$1 out=$2
command -v gnuplot >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gnuplot-nox >/dev/null
data=$(mktemp)
trap 'rm -f "$data"' EXIT
# One line per size: VMs, classic, notrack (thousand pps); the "no rules" row is the limit.
awk -F'|' '
  /no rules/ { gsub(/[ k]/, "", $4); limit = $4 }
  NF > 10 && $3 ~ /classic|notrack/ { gsub(/ /, "", $2); gsub(/ /, "", $3); gsub(/[ k]/, "", $4); v[$2, $3] = $4; if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 } }
  END { for (i = 1; i <= n; i++) print order[i], v[order[i], "classic"], v[order[i], "notrack"], limit }
' "$table" > "$data"
gnuplot <<GNUPLOT
set terminal pngcairo size 900,560 font "sans,11" noenhanced
set output "$out"
set title "One UDP flow of 64-byte datagrams from the uplink to an open VM, against host size"
set xlabel "VMs on the host"
set ylabel "thousand datagrams received per second (log scale)"
set logscale y
set yrange [1:*]
set key bottom left
set grid
set xtics ($(awk '{ printf "%s\"%s\" %d", (NR > 1 ? ", " : ""), $1, NR - 1 }' "$data"))
plot "$data" using 0:2 with linespoints lw 2 title "classic (the script's rules)", \
     "$data" using 0:3 with linespoints lw 2 title "notrack (default)", \
     "$data" using 0:4 with lines dt 2 lw 2 title "bridge, no rules"
GNUPLOT
