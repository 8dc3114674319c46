#!/usr/bin/env bash
# Throughput benchmark. Generates a deterministic capture with
# ../shared/bench/gen-pcap.py (cached in bench-out/), then reports connscope's
# packets/s next to the raw libpcap read rate of the same file, same run.
#   scripts/bench.sh [PACKETS] [OPEN_FLOWS] [REPEATS]   (default 2000000 100000 3)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
packets="${1:-2000000}"; flows="${2:-100000}"; repeats="${3:-3}"
gen="${CONNSCOPE_SHARED:-../shared}/bench/gen-pcap.py"
[ -f "$gen" ] || { echo "bench: $gen not found (needs ../shared)" >&2; exit 1; }
mkdir -p bench-out
pcap="bench-out/gen-${packets}-${flows}.pcap"
if [ ! -s "$pcap" ]; then
  echo "bench: generating $pcap ($packets packets, $flows open flows)..." >&2
  python3 "$gen" -o "$pcap.tmp" -n "$packets" -f "$flows" --seed 1 -q
  mv "$pcap.tmp" "$pcap"
fi
cargo bench --quiet --bench throughput -- "$pcap" "$repeats"
