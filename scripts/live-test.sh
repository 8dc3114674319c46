#!/usr/bin/env bash
# Live-capture test. Replays the project's captures (pcaps/*.pcap) with
# tcpreplay into one end of a veth pair and captures the other end with
# `connscope live`, stops it with SIGTERM, then checks that the logged
# connections are the ones `connscope read` logs for the same files.
#
# Modes (LIVE_MODES, default all):
#   pcap             libpcap source, 1 worker
#   pcap-two-ifaces  libpcap on two veth pairs at once (-i A -i B), the
#                    captures replayed alternately into each
#   afpacket-w2      AF_PACKET TPACKET_V3 ring, 2 pipeline workers
#   afpacket-fanout  2 capture processes in one PACKET_FANOUT hash group
#                    (defrag flag), 1 worker each; their logs are merged
#   afpacket-fanout-w2  1 process, 2 workers with a ring each in one fanout
#                    group (the kernel spreads the flows; no capture thread)
#
# Compared per record (as a multiset): id.*, proto, service, conn_state,
# history, *_pkts, *_ip_bytes, orig_bytes/resp_bytes, missed_bytes and the
# number of tunnel_parents. ts, uid and duration depend on replay timing and
# are ignored. timeout.pcap (70 s of timers) and truncated.pcap (a damaged
# file) are not replayed by default (LIVE_PCAPS).
#
# Isolation: two network namespaces made here (cslive-PID-tx/-rx) joined by a
# veth pair, 192.0.2.1/24 <-> 192.0.2.2/24 (TEST-NET-1), IPv6 off so the
# kernel adds no traffic of its own. Nothing is routed anywhere; the
# namespaces are deleted on exit. Every wait is bounded.
#
# Needs root and iproute2; installs tcpreplay with apt when missing.
# Exit: 0 pass, 1 fail, 77 skipped (not root, no namespaces).
# Env: CONNSCOPE_BIN (a prebuilt binary; otherwise built here with cargo),
# LIVE_KEEP=1 keeps the work directory.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PCAPS=${LIVE_PCAPS:-"tcp_states udp icmp ipv6 vlan fragments vxlan midstream retransmit"}
MODES=${LIVE_MODES:-"pcap pcap-two-ifaces afpacket-w2 afpacket-fanout afpacket-fanout-w2"}

say() { echo "live-test: $*"; }
skip() {
  say "SKIP: $*"
  exit 77
}

# shellcheck source=scripts/netns.sh
. "$ROOT/scripts/netns.sh"
netns_prereqs

if [ -z "${CONNSCOPE_BIN:-}" ]; then
  say "building connscope"
  cargo build --quiet --bin connscope
fi
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
CONNSCOPE=${CONNSCOPE_BIN:-$TARGET/debug/connscope}

WORK=$(mktemp -d /tmp/connscope-live.XXXXXX)
cleanup() {
  netns_cleanup
  if [ "${LIVE_KEEP:-0}" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
netns_up 2

# Expected records: connscope read of each capture.
: >"$WORK/expect.log"
for p in $PCAPS; do
  "$CONNSCOPE" read -q -r "pcaps/$p.pcap" -w "$WORK/expect/$p"
  cat "$WORK/expect/$p/conn.log" >>"$WORK/expect.log"
done
say "expecting $(wc -l <"$WORK/expect.log") records from: $PCAPS"

compare() { # expected got label
  python3 - "$1" "$2" "$3" <<'EOF'
import collections, json, sys
FIELDS = ["id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
          "conn_state", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts",
          "resp_ip_bytes", "orig_bytes", "resp_bytes", "missed_bytes"]
def load(path):
    out = collections.Counter()
    for line in open(path):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        r = json.loads(line)
        key = tuple(r.get(k) for k in FIELDS) + (len(r.get("tunnel_parents", [])),)
        out[key] += 1
    return out
exp, got, label = load(sys.argv[1]), load(sys.argv[2]), sys.argv[3]
names = FIELDS + ["#tunnel_parents"]
missing, extra = exp - got, got - exp
for k, n in missing.items():
    print(f"  missing x{n}: " + " ".join(f"{a}={b}" for a, b in zip(names, k)))
for k, n in extra.items():
    print(f"  extra   x{n}: " + " ".join(f"{a}={b}" for a, b in zip(names, k)))
ok = not missing and not extra
print(f"{label}: {'PASS' if ok else 'FAIL'}: {sum(got.values())} records captured, "
      f"{sum(exp.values())} expected, {sum(missing.values())} missing, {sum(extra.values())} extra")
sys.exit(0 if ok else 1)
EOF
}

run_mode() {
  local mode=$1 dir="$WORK/$1" i
  mkdir -p "$dir"
  local -a args=()
  local ring="--source af-packet --ring-block-size 65536 --ring-blocks 64"
  case $mode in
    pcap) args=("-i veth-rx -w $dir/0") ;;
    pcap-two-ifaces) args=("-i veth-rx -i veth-rx2 -w $dir/0") ;;
    afpacket-w2) args=("-i veth-rx $ring -j 2 -w $dir/0") ;;
    afpacket-fanout) args=("-i veth-rx $ring --fanout-group 4242 -w $dir/0" "-i veth-rx $ring --fanout-group 4242 -w $dir/1") ;;
    afpacket-fanout-w2) args=("-i veth-rx $ring --fanout-group 4243 -j 2 -w $dir/0") ;;
    *)
      say "unknown mode $mode"
      return 1
      ;;
  esac
  local -a mine=()
  for i in "${!args[@]}"; do
    # shellcheck disable=SC2086 # the args are word lists
    ip netns exec "$RX" "$CONNSCOPE" live ${args[$i]} >"$dir/$i.out" 2>"$dir/$i.err" &
    mine+=("$!")
    PIDS+=("$!")
  done
  for i in "${!args[@]}"; do
    if ! wait_ready "$dir/$i.err"; then
      say "$mode: capture $i did not start:"
      cat "$dir/$i.err"
      return 1
    fi
  done
  local k=0 tx
  for p in $PCAPS; do
    tx=veth-tx
    if [ "$mode" = pcap-two-ifaces ] && [ $((k % 2)) = 1 ]; then tx=veth-tx2; fi
    k=$((k + 1))
    ip netns exec "$TX" tcpreplay -q -i "$tx" "pcaps/$p.pcap" >>"$dir/tcpreplay.log" 2>&1 || {
      say "$mode: tcpreplay $p failed:"
      cat "$dir/tcpreplay.log"
      return 1
    }
  done
  sleep 1 # let the last block time out and be read
  local rc=0
  for i in "${!mine[@]}"; do
    local p=${mine[$i]}
    if ! stop_pid "$p"; then
      say "$mode: capture $i ignored SIGTERM for 10 s"
      rc=1
    fi
    wait "$p" || {
      say "$mode: capture $i failed:"
      rc=1
    }
    sed 's/^/  /' "$dir/$i.err"
  done
  cat "$dir"/*/conn.log >"$dir/got.log"
  if [ "$mode" = afpacket-fanout ]; then
    for i in "${!mine[@]}"; do
      if [ ! -s "$dir/$i/conn.log" ]; then
        say "$mode: fanout member $i logged nothing (no split)"
        rc=1
      fi
    done
  fi
  compare "$WORK/expect.log" "$dir/got.log" "$mode" || rc=1
  # The capture thread's stats.log row carries the kernel's counters.
  for i in "${!mine[@]}"; do
    if ! grep -q '"peer":"capture' "$dir/$i/stats.log" 2>/dev/null; then
      say "$mode: no capture row in $i/stats.log"
      rc=1
    fi
    if ! grep -q '"mem":[0-9]' "$dir/$i/stats.log" 2>/dev/null; then
      say "$mode: stats.log has no mem"
      rc=1
    fi
  done
  if grep -Eq 'dropped [1-9]' "$dir"/*.err; then
    say "$mode: the source reported drops"
    rc=1
  fi
  return $rc
}

fail=0
for m in $MODES; do
  run_mode "$m" || fail=1
done
if [ $fail -eq 0 ]; then
  say "PASS ($MODES)"
else
  say "FAIL"
fi
exit $fail
