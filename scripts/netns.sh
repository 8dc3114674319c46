# Sourced by live-test.sh and live-bench.sh: two private network namespaces
# ($TX, $RX) joined by veth pairs, nothing routed anywhere, deleted on exit.
#   netns_prereqs            root, iproute2, python3; installs tcpreplay (exit 77 = skip)
#   netns_up PAIRS           veth-tx/veth-rx (192.0.2.0/24) [, veth-tx2/veth-rx2 (198.51.100.0/24)]
# Callers define say() and skip(), and may append to PIDS (killed on exit).
TX=cslive-$$-tx
RX=cslive-$$-rx
PIDS=()

netns_prereqs() {
  [ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces and raw sockets)"
  command -v ip >/dev/null 2>&1 || skip "ip (iproute2) is missing"
  command -v python3 >/dev/null 2>&1 || skip "python3 is missing"
  if ! command -v tcpreplay >/dev/null 2>&1; then
    say "installing tcpreplay"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends tcpreplay >/dev/null 2>&1 ||
      { apt-get update -qq && apt-get install -y -qq --no-install-recommends tcpreplay >/dev/null; }
  fi
}

netns_cleanup() {
  for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  ip netns del "$TX" 2>/dev/null || true
  ip netns del "$RX" 2>/dev/null || true
}

netns_up() {
  local pairs=${1:-1}
  ip netns add "$TX" || skip "cannot create network namespaces"
  ip netns add "$RX"
  for ns in "$TX" "$RX"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$ns" link set lo up
  done
  local i net suffix
  for i in $(seq "$pairs"); do
    if [ "$i" = 1 ]; then suffix="" net=192.0.2; else suffix=$i net=198.51.100; fi
    ip -n "$TX" link add "veth-tx$suffix" mtu 9000 type veth peer name "veth-rx$suffix" netns "$RX" mtu 9000
    ip -n "$TX" addr add "$net.1/24" dev "veth-tx$suffix"
    ip -n "$RX" addr add "$net.2/24" dev "veth-rx$suffix"
    ip -n "$TX" link set "veth-tx$suffix" up
    ip -n "$RX" link set "veth-rx$suffix" up
  done
}

# wait_ready FILE: bounded wait for connscope's "listening on" line.
wait_ready() {
  for _ in $(seq 100); do
    grep -q '^connscope: listening on' "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# stop_pid PID: SIGTERM, then a bounded wait (10 s) before SIGKILL; returns 1 if killed.
stop_pid() {
  local p=$1 n=0
  kill -TERM "$p" 2>/dev/null || true
  while kill -0 "$p" 2>/dev/null && [ $n -lt 100 ]; do
    sleep 0.1
    n=$((n + 1))
  done
  if kill -0 "$p" 2>/dev/null; then
    kill -KILL "$p"
    return 1
  fi
}
