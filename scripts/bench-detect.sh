#!/usr/bin/env bash
# What scoring costs. For a generated capture (../shared/bench/gen-pcap.py)
# and the real-traffic mix (../shared/bench/real-mix.sh), both cached in
# bench-out/: trains a model on the capture (`connscope train`), then runs
# `connscope read -j 1` with every statistic on (--flowmeter --context)
# without and with `--model` alternately, REPEATS pairs, and reports the
# best packets/s of each side (wall and per CPU second), each as a ratio to
# the libpcap read limit of the same file measured in the same run, the
# cost of scoring (best against best, and the median over the back-to-back
# pairs, which a change in the machine's load reaches alike), the peak RSS
# and the detectors' host-state entries.
#   scripts/bench-detect.sh [GEN_PACKETS] [GEN_FLOWS] [REPEATS]   (default 1000000 50000 3)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
packets="${1:-1000000}"; flows="${2:-50000}"; repeats="${3:-3}"
shared="${CONNSCOPE_SHARED:-../shared}"
[ -d "$shared/bench" ] || { echo "bench-detect: $shared/bench not found (needs ../shared)" >&2; exit 1; }
mkdir -p bench-out
gen="bench-out/gen-${packets}-${flows}.pcap"
if [ ! -s "$gen" ]; then
  python3 "$shared/bench/gen-pcap.py" -o "$gen.tmp" -n "$packets" -f "$flows" --seed 1 -q
  mv "$gen.tmp" "$gen"
fi
mix="bench-out/real-mix.pcap"
if [ ! -s "$mix" ]; then
  "$shared/bench/real-mix.sh" "$mix.tmp" 20 >/dev/null
  mv "$mix.tmp" "$mix"
fi
cargo build --quiet --release --bin connscope
cargo bench --quiet --bench throughput --no-run 2>/dev/null
for pcap in "$gen" "$mix"; do
  raw=$(CONNSCOPE_BENCH_RAW_ONLY=1 cargo bench --quiet --bench throughput -- "$pcap" "$repeats" | awk '/libpcap_raw_pps/ {print $2}')
  python3 - "$pcap" "$repeats" "$raw" <<'PY'
import os, re, resource, subprocess, sys, tempfile, time
pcap, repeats, raw = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
exe = os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release", "connscope")
def once(extra):
    with tempfile.TemporaryDirectory() as d:
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        p = subprocess.run([exe, "read", "-r", pcap, "-w", d, "--flowmeter", "--context"] + extra,
                           check=True, capture_output=True, text=True)
        wall = time.perf_counter() - t
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        n = int(re.search(r"(\d+) packets", p.stderr).group(1))
        det = re.search(r"detection: .*", p.stderr)
        return (wall, cpu, n, det.group(0) if det else "")
def median(v):
    v = sorted(v)
    return v[len(v) // 2] if len(v) % 2 else (v[len(v) // 2 - 1] + v[len(v) // 2]) / 2
with tempfile.TemporaryDirectory() as d:
    model = os.path.join(d, "model.json")
    subprocess.run([exe, "train", "-q", "-r", pcap, "-w", d, "-o", model], check=True)
    # Without and with scoring alternately, so a change in the machine's
    # load reaches both sides alike: the best of each side, and the median
    # of the costs of the pairs.
    offs, ons = [], []
    for _ in range(repeats):
        offs.append(once([]))
        ons.append(once(["--model", model]))
    off = min(offs)
    on = min(ons)
    pair_wall = median([1 - a[0] / b[0] for a, b in zip(offs, ons)])
    pair_cpu = median([1 - a[1] / b[1] for a, b in zip(offs, ons)])
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"file: {pcap} ({off[2]} packets), libpcap read limit {raw:,.0f} packets/s")
for name, (wall, cpu, n, det) in (("everything on, no scoring", off), ("everything on + scoring (--model)", on)):
    print(f"  {name:<36} {n / wall:>12,.0f} pps wall ({n / wall / raw:.3f} of libpcap), "
          f"{n / cpu:>12,.0f} pps per CPU second ({n / cpu / raw:.3f})")
print(f"  scoring cost: {(1 - off[0] / on[0]) * 100:.1f} % of packets/s (wall), "
      f"{(1 - off[1] / on[1]) * 100:.1f} % (CPU), best of {repeats} each; "
      f"median of {repeats} back-to-back pairs {pair_wall * 100:.1f} % (wall), {pair_cpu * 100:.1f} % (CPU)")
print(f"  {on[3]}")
print(f"  peak RSS of the runs: {rss / 1024:.0f} MiB")
PY
done
