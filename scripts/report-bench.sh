#!/usr/bin/env bash
# Report benchmark: `connscope report` on a million connections.
#
#   scripts/report-bench.sh [N]        # default 1000000
#
# 1. Synthetic logs (examples/reportgen.rs): N connections over 24 h from
#    20,000 hosts, 5 % anomalous with varied shapes, with score.log,
#    context.log, 2,000 notices, weirds, stats and capture loss.
# 2. Real logs: examples/floodgen.rs writes a capture of N concurrent UDP
#    flows (N connections and a few legitimate ones), `connscope read --train-seconds 1
#    --context --flowmeter` logs it, and the report is built from them.
# For each: wall time and peak RSS of `connscope report`, the page size,
# and the log directory's size. Temp files are deleted afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
nice -n 10 cargo build -q --release --bin connscope --example reportgen --example floodgen
BIN=target/release/connscope
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

measure() { # measure LABEL DIR
  local label=$1 dir=$2
  local start end
  start=$(date +%s.%N)
  /usr/bin/env time -f '%M' -o "$TMP/rss" "$BIN" report "$dir" -o "$TMP/$label.html" -q
  end=$(date +%s.%N)
  printf '| %s | %s | %s | %.1f s | %s MiB | %s |\n' "$label" \
    "$(wc -l < "$dir/conn.log")" "$(du -sh --apparent-size "$dir" | cut -f1)" \
    "$(echo "$end - $start" | bc)" "$(( $(cat "$TMP/rss") / 1024 ))" \
    "$(du -h --apparent-size "$TMP/$label.html" | cut -f1)"
}

printf '| logs | conn.log rows | log directory | report time | peak RSS | page size |\n'
printf '|---|---|---|---|---|---|\n'
target/release/examples/reportgen "$N" "$TMP/synthetic" >/dev/null
measure synthetic "$TMP/synthetic"
rm -rf "$TMP/synthetic"
target/release/examples/floodgen flows "$N" "$TMP/flows.pcap" >/dev/null
"$BIN" read -C -q -r "$TMP/flows.pcap" -w "$TMP/flows" --train-seconds 1 --context --flowmeter
rm -f "$TMP/flows.pcap"
measure "floodgen flows + read" "$TMP/flows"
