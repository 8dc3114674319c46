#!/usr/bin/env bash
# Flood benchmark: peak RSS and evictions per flood under --max-memory.
#
#   scripts/flood-bench.sh            # budget 64 MiB, the issue's sizes
#   CAP=128 FLOWS=2000000 scripts/flood-bench.sh
#
# Generates each capture with examples/floodgen.rs (streamed to a temp dir,
# deleted afterwards), runs `connscope read -C --max-memory CAP` and, for
# comparison, without a budget, and prints one row per flood: packets, peak
# RSS with and without the budget (connscope's own VmHWM), evictions per
# table from stats.log (connections, fragment datagrams, per-connection
# bounds) and conn.log records written.
set -euo pipefail
cd "$(dirname "$0")/.."
CAP=${CAP:-64}
SYN=${SYN:-300000}
FLOWS=${FLOWS:-2000000}
FRAGS=${FRAGS:-300000}
OOO=${OOO:-300000}
nice -n 10 cargo build -q --release --bin connscope --example floodgen
BIN=target/release/connscope
GEN=target/release/examples/floodgen
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

sum() { # sum of a stats.log column (JSON lines)
  python3 -c 'import json,sys
t=0
for l in open(sys.argv[1]):
    t+=json.loads(l).get(sys.argv[2],0)
print(t)' "$1" "$2"
}
peak() { sed -n 's/.*peak RSS \([0-9]*\) KiB.*/\1/p' "$1"; }

printf '| flood | packets | peak RSS, --max-memory %s | peak RSS, no budget | conn evictions | fragment evictions | state bounds hit | conn.log records |\n' "$CAP"
printf '|---|---|---|---|---|---|---|---|\n'
for spec in "syn $SYN" "flows $FLOWS" "frags $FRAGS" "ooo $OOO"; do
  set -- $spec
  kind=$1 n=$2
  pcap=$TMP/$kind.pcap
  pk=$("$GEN" "$kind" "$n" "$pcap" | cut -d' ' -f1)
  for mode in cap nocap; do
    out=$TMP/$kind-$mode
    mkdir -p "$out"
    if [ $mode = cap ]; then args=(--max-memory "$CAP"); else args=(--max-conns 1000000000); fi
    "$BIN" read -C -r "$pcap" -w "$out" --stats-interval 1 "${args[@]}" 2>"$out.err"
  done
  printf '| %s | %s | %s MiB | %s MiB | %s | %s | %s | %s |\n' "$kind" "$pk" \
    "$(( $(peak "$TMP/$kind-cap.err") / 1024 ))" "$(( $(peak "$TMP/$kind-nocap.err") / 1024 ))" \
    "$(sum "$TMP/$kind-cap/stats.log" evictions)" "$(sum "$TMP/$kind-cap/stats.log" frag_evictions)" \
    "$(sum "$TMP/$kind-cap/stats.log" conn_state_limits)" "$(wc -l < "$TMP/$kind-cap/conn.log")"
  rm -rf "$TMP/$kind"-* "$pcap"
done
