#!/usr/bin/env bash
# Runs connscope on the bundled demo capture and says where the logs went;
# when ../shared is beside the repository, also runs detection on the
# lab-public capture (learn on the first 210 s, score the rest) and shows
# the notices.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
cargo build --release --quiet
out="${1:-out/demo}"
mkdir -p "$out"
target/release/connscope read -r pcaps/tcp_states.pcap -w "$out"
echo "logs written to $out:"
ls -l "$out"
echo "first records of $out/conn.log:"
head -n 5 "$out/conn.log"
lab="${CONNSCOPE_SHARED:-../shared}/datasets/lab-public"
if [ -f "$lab/lab-public.pcap" ]; then
  det="$out/detect"
  mkdir -p "$det"
  # The first packet's time + 210 s: the benign training prefix.
  until=$(python3 -c "import struct,sys; b=open(sys.argv[1],'rb').read(32); s,u=struct.unpack('<II',b[24:32]); print('%.6f' % (s+u/1e6+210))" "$lab/lab-public.pcap")
  target/release/connscope read -r "$lab/lab-public.pcap" -w "$det" --train-until "$until" --save-model "$det/model.json" \
    --report "$det/report.html"
  echo
  echo "notices ($det/notice.log):"
  python3 -c "import json,sys
for l in open(sys.argv[1]):
    n = json.loads(l); print(' ', n['note'].ljust(24), n['msg'])" "$det/notice.log"
  echo
  echo "connection-level figures (connscope eval):"
  target/release/connscope eval --logs "$det" --labels "$lab/labels.csv" --hosts "$lab/hosts.csv" \
    --schedule "$lab/schedule.json" --train-until "$until" | sed -n '1,12p'
  echo
  echo "report: $det/report.html (one self-contained page; open it in a browser)"
else
  echo "(../shared/datasets not found: the detection demo is skipped)"
fi
