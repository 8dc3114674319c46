#!/usr/bin/env bash
# Screenshot of the lab-public report for the README (docs/report-lab-public.png).
#
#   scripts/report-screenshot.sh [OUT.png]
#
# Trains on lab-public's benign prefix (first packet + 210 s), reads the
# capture with detection, builds the report with 2 host charts and 5 top
# connections (so one screen shows every section) and has headless
# Chromium (network off) take the picture. Needs ../shared/datasets and
# chromium (scripts/ensure-deps.sh --test).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-docs/report-lab-public.png}
DS=../shared/datasets/lab-public
cargo build -q --release --bin connscope
BIN=target/release/connscope
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
UNTIL=$(python3 -c "import struct,sys
b=open(sys.argv[1],'rb').read(32); s,u=struct.unpack('<II',b[24:32]); print(f'{s+u/1e6+210:.6f}')" "$DS/lab-public.pcap")
"$BIN" read -q -r "$DS/lab-public.pcap" -w "$TMP/logs" --train-until "$UNTIL" \
  --save-model "$TMP/model.json" --context --flowmeter
"$BIN" report "$TMP/logs" -o "$TMP/report.html" --model "$TMP/model.json" --hosts 2 --top 5 -q
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --proxy-server=127.0.0.1:9 --host-resolver-rules='MAP * ~NOTFOUND' \
  --user-data-dir="$TMP/profile" --hide-scrollbars --window-size=1400,4700 \
  --screenshot="$OUT" "file://$TMP/report.html" 2>/dev/null
echo "wrote $OUT"
