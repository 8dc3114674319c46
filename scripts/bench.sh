#!/usr/bin/env bash
# Throughput benchmark. Generates a deterministic capture with
# ../shared/bench/gen-pcap.py (cached in bench-out/), then reports connscope's
# packets/s next to the raw libpcap read rate of the same file, same run,
# and a table of nanoseconds per packet per stage on it and on the real mix.
#   scripts/bench.sh [PACKETS] [OPEN_FLOWS] [REPEATS]   (default 5000000 200000 3)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
packets="${1:-5000000}"; flows="${2:-200000}"; repeats="${3:-3}"
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

# Nanoseconds per packet per stage (cumulative configurations on the same
# file, differenced; see stage_table in benches/throughput.rs), on the
# generated capture and on the real mix (../shared/bench/real-mix.sh: the
# conformance traces and labelled datasets merged and looped 20 times,
# 1.67 M packets; cached in bench-out/).
CONNSCOPE_BENCH_STAGES=1 cargo bench --quiet --bench throughput -- "$pcap" "$repeats"
mix="bench-out/real-mix.pcap"
mix_sh="${CONNSCOPE_SHARED:-../shared}/bench/real-mix.sh"
if [ ! -s "$mix" ] && [ -f "$mix_sh" ]; then
  echo "bench: building $mix with $mix_sh..." >&2
  bash "$mix_sh" "$mix.tmp.pcap" && mv "$mix.tmp.pcap" "$mix"
fi
if [ -s "$mix" ]; then
  CONNSCOPE_BENCH_STAGES=1 cargo bench --quiet --bench throughput -- "$mix" "$repeats"
fi

# dns.log cost on a DNS-heavy capture (90 % of flows DNS over UDP): 1 M
# packets, 50 k open flows.
dns_pcap="bench-out/dns-heavy-1000000-50000.pcap"
if [ ! -s "$dns_pcap" ]; then
  echo "bench: generating $dns_pcap (DNS-heavy)..." >&2
  python3 "$gen" -o "$dns_pcap.tmp" -n 1000000 -f 50000 --dns 0.9 --tcp 0.05 --udp 0.03 --seed 3 -q
  mv "$dns_pcap.tmp" "$dns_pcap"
fi
CONNSCOPE_BENCH_DNS=1 cargo bench --quiet --bench throughput -- "$dns_pcap" "$repeats"

# Memory per open flow: peak RSS of `connscope read -j 1` on the same capture
# minus the peak RSS on a tiny capture, over the peak number of open
# connections (stats.log rows every second of network time).
cargo build --quiet --release --bin connscope
python3 - "$pcap" <<'PY'
import json, os, resource, subprocess, sys, tempfile
exe = os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "connscope")
def run(pcap):
    with tempfile.TemporaryDirectory() as d:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        subprocess.run([exe, "read", "-q", "--stats-interval", "1", "-r", pcap, "-w", d], check=True)
        rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB, max over children so far
        peak = 0
        for line in open(os.path.join(d, "stats.log")):
            r = json.loads(line)
            peak = max(peak, r["active_tcp_conns"] + r["active_udp_conns"] + r["active_icmp_conns"])
        return rss, peak
base, _ = run("pcaps/tcp_states.pcap")
rss, peak = run(sys.argv[1])
print(f"peak RSS {rss / 1024:.0f} MiB with {peak} open connections (baseline {base / 1024:.0f} MiB): "
      f"{(rss - base) * 1024 / max(peak, 1):.0f} bytes per open connection")
PY
