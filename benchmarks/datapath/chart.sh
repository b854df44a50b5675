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
# The layouts in the table's order; one line per size: VMs, each layout's
# thousand pps (NaN where not run), the limit (the "no rules" row).
layouts=$(awk -F'|' 'NF > 10 && $3 !~ /no rules|layout|---/ { gsub(/ /, "", $3); if (!($3 in seen)) { seen[$3] = 1; printf "%s ", $3 } }' "$table")
awk -F'|' -v layouts="$layouts" '
  BEGIN { count = split(layouts, names, " ") }
  /no rules/ { gsub(/[ k]/, "", $4); limit = $4; next }
  NF > 10 && $3 !~ /layout|---/ { gsub(/ /, "", $2); gsub(/ /, "", $3); gsub(/[ k]/, "", $4); v[$2, $3] = $4; if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 } }
  END { for (i = 1; i <= n; i++) { line = order[i]; for (j = 1; j <= count; j++) line = line " " (((order[i], names[j]) in v) ? v[order[i], names[j]] : "NaN"); print line, limit } }
' "$table" > "$data"
plots=$(i=2; for layout in $layouts; do
  title=$layout; [ "$layout" = classic ] && title="classic (the script's rules)"
  printf '"%s" using 0:%d with linespoints lw 2 title "%s", ' "$data" "$i" "$title"; i=$((i + 1))
done; printf '"%s" using 0:%d with lines dt 2 lw 2 title "bridge, no rules"' "$data" $(( $(echo $layouts | wc -w) + 2 )))
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
plot $plots
GNUPLOT
