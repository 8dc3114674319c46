#!/usr/bin/env bash
# Live benchmark: the highest tcpreplay rate through a veth pair that
# `connscope live` keeps up with, with zero drops.
#
#   scripts/live-bench.sh [RATES...]      (default: 25000 50000 100000 150000 200000 300000 top)
#
# Replays a capture (LIVE_BENCH_PCAP, default: generated with
# ../shared/bench/gen-pcap.py, 300k packets, 10k open flows, cached in
# bench-out/) into one end of a veth pair in a private network namespace at
# each rate (packets/s; `top` = tcpreplay --topspeed), captures the other end
# with `connscope live` (LIVE_BENCH_ARGS, default AF_PACKET, 1 worker), stops
# it with SIGTERM and counts: packets tcpreplay sent, packets connscope
# processed, kernel drops, interface drops and queue drops. A rate passes when
# nothing was dropped and every sent packet was processed.
# Needs root, iproute2 and tcpreplay (installed with apt when missing). Uses
# both cores: tcpreplay and the kernel's veth path take one.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
say() { echo "live-bench: $*" >&2; }
skip() {
  say "SKIP: $*"
  exit 77
}
# shellcheck source=scripts/netns.sh
. "$ROOT/scripts/netns.sh"
netns_prereqs
scripts/ensure-deps.sh
cargo build --quiet --release --bin connscope
CONNSCOPE=${CONNSCOPE_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/connscope}
ARGS=${LIVE_BENCH_ARGS:-"--source af-packet --ring-block-size 1048576 --ring-blocks 128"}
RATES=("$@")
[ ${#RATES[@]} -gt 0 ] || RATES=(25000 50000 100000 150000 200000 300000 top)

pcap=${LIVE_BENCH_PCAP:-}
if [ -z "$pcap" ]; then
  gen="${CONNSCOPE_SHARED:-../shared}/bench/gen-pcap.py"
  [ -f "$gen" ] || { say "$gen not found: set LIVE_BENCH_PCAP"; exit 1; }
  mkdir -p bench-out
  pcap=bench-out/live-300000-10000.pcap
  if [ ! -s "$pcap" ]; then
    say "generating $pcap"
    python3 "$gen" -o "$pcap.tmp" -n 300000 -f 10000 --seed 5 -q
    mv "$pcap.tmp" "$pcap"
  fi
fi

WORK=$(mktemp -d /tmp/connscope-live-bench.XXXXXX)
cleanup() {
  netns_cleanup
  rm -rf "$WORK"
}
trap cleanup EXIT
netns_up 1

say "capture $pcap; connscope live $ARGS"
printf '%-10s %12s %10s %10s %10s %8s %8s %8s  %s\n' rate "sent pps" sent processed kernel-rx drop if-drop queue result
best=none
for rate in "${RATES[@]}"; do
  dir="$WORK/$rate"
  mkdir -p "$dir"
  # shellcheck disable=SC2086 # ARGS is a word list
  ip netns exec "$RX" "$CONNSCOPE" live -i veth-rx $ARGS -w "$dir/logs" >"$dir/out" 2>"$dir/err" &
  pid=$!
  PIDS+=("$pid")
  wait_ready "$dir/err" || { cat "$dir/err"; exit 1; }
  if [ "$rate" = top ]; then speed=(--topspeed); else speed=(--pps="$rate"); fi
  ip netns exec "$TX" tcpreplay "${speed[@]}" -i veth-tx "$pcap" >"$dir/tcpreplay" 2>&1
  sleep 1
  stop_pid "$pid" || say "connscope ignored SIGTERM"
  wait "$pid" || true
  python3 - "$dir" "$rate" <<'PY'
import re, sys
d, rate = sys.argv[1], sys.argv[2]
tr = open(d + "/tcpreplay").read()
err = open(d + "/err").read()
sent = int(re.search(r"Actual: (\d+) packets", tr).group(1))
pps = float(re.search(r"Rated: [\d.]+ Bps, [\d.]+ Mbps, ([\d.]+) pps", tr).group(1))
proc = int(re.search(r"connscope: (\d+) packets", err).group(1))
m = re.search(r"capture received (\d+), dropped (\d+), interface dropped (\d+), queue dropped (\d+)", err)
rx, drop, ifdrop, q = (int(x) for x in m.groups())
ok = drop == 0 and ifdrop == 0 and q == 0 and proc >= sent
print(f"{rate:<10} {pps:>12.0f} {sent:>10} {proc:>10} {rx:>10} {drop:>8} {ifdrop:>8} {q:>8}  {'zero drops' if ok else 'LOSS'}")
open(d + "/result", "w").write(f"{'ok' if ok else 'loss'} {pps:.0f}\n")
PY
  read -r res pps <"$dir/result"
  if [ "$res" = ok ]; then best="$pps pps (requested $rate)"; fi
done
echo "highest rate with zero drops: $best"
