#!/usr/bin/env bash
# Runs every recipe of docs/RECIPES.md (the ```sh block after each
# `<!-- recipe: NAME -->` marker) with `bash -euo pipefail` in a scratch
# directory, then checks what it produced. The capture is ../shared's
# lab-public dataset when it is there, otherwise the project's own pcaps/
# joined into one file (said on stderr). `connscope` is the (optimised) debug-profile binary of
# this checkout; `python3`, `zkg` come from the test venv (.venv, made by
# scripts/ensure-deps.sh --test).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
venv="$root/.venv"
"$venv/bin/python" -c 'import pandas, duckdb' >/dev/null 2>&1 && [ -x "$venv/bin/zkg" ] \
  || scripts/ensure-deps.sh --test
cargo build --quiet --bin connscope   # the test profile (optimised), as cargo test builds it
bin="$root/target/debug"
[ -n "${CARGO_TARGET_DIR:-}" ] && bin="$CARGO_TARGET_DIR/debug"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
shared="${CONNSCOPE_SHARED:-$root/../shared}"
lab="$shared/datasets/lab-public/lab-public.pcap"
if [ -f "$lab" ]; then
  ln -s "$lab" "$work/capture.pcap"
  full=1
else
  echo "check-recipes: $lab not found (../shared is absent): using the project's pcaps/ joined into one capture" >&2
  python3 - "$work/capture.pcap" pcaps/tcp_states.pcap pcaps/udp.pcap pcaps/icmp.pcap pcaps/dns.pcap pcaps/vxlan.pcap <<'PY'
import struct, sys
out, pkts = sys.argv[1], []
for n, path in enumerate(sys.argv[2:]):
    b = open(path, "rb").read()
    off = 24
    while off + 16 <= len(b):
        s, u, cap, wire = struct.unpack("<IIII", b[off:off + 16])
        # Each file later in time than the previous ones (1000 s apart).
        pkts.append((s + 1000 * n, u, b[off + 16:off + 16 + cap], wire))
        off += 16 + cap
    hdr = b[:24]
# A SYN scan after the training window (so the scoring recipes have a notice):
# 10.9.9.9 probes 40 ports of 10.0.0.1, nothing answers.
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF
src, dst = bytes([10, 9, 9, 9]), bytes([10, 0, 0, 1])
t0 = pkts[0][0] + 6000
for i in range(40):
    tcp = struct.pack("!HHIIBBHHH", 50000 + i, 1 + i, 1000 + i, 0, 5 << 4, 0x02, 1024, 0, 0)
    tcp = tcp[:16] + struct.pack("!H", csum(src + dst + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), i, 0, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    frame = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip + tcp
    pkts.append((t0, 10000 * i, frame, len(frame)))
pkts.sort(key=lambda p: (p[0], p[1]))
with open(out, "wb") as f:
    f.write(hdr)
    for s, u, d, wire in pkts:
        f.write(struct.pack("<IIII", s, u, len(d), wire) + d)
PY
  full=0
fi

# The package recipe installs from a git repository (zkg's requirement).
repo="$work/src/connscope"
mkdir -p "$repo"
cp -r zkg.meta zeek-scripts "$repo/"
git -C "$repo" init -q && git -C "$repo" add -A \
  && git -C "$repo" -c user.email=ci@connscope -c user.name=ci commit -qm package

# Extract the recipes.
python3 - docs/RECIPES.md "$work/recipes" <<'PY'
import os, re, sys
text, out = open(sys.argv[1]).read(), sys.argv[2]
os.makedirs(out)
found = re.findall(r"<!-- recipe: ([\w-]+) -->\s*```sh\n(.*?)```", text, re.S)
assert found, "no recipes found"
with open(os.path.join(out, "ORDER"), "w") as order:
    for name, body in found:
        open(os.path.join(out, name + ".sh"), "w").write(body)
        order.write(name + "\n")
PY

fail=0
check() { # NAME PYTHON-CHECK: runs a check of a recipe's output in $work
  if ! (cd "$work" && "$venv/bin/python" -c "$2"); then
    echo "check-recipes: $1: output check failed" >&2
    fail=1
  fi
}
while read -r name; do
  echo "check-recipes: running recipe $name" >&2
  if ! (cd "$work" && PATH="$bin:$venv/bin:$PATH" CONNSCOPE_REPO="$repo" \
        bash -euo pipefail "$work/recipes/$name.sh" >"$work/$name.out" 2>"$work/$name.err"); then
    echo "check-recipes: recipe $name failed:" >&2
    tail -20 "$work/$name.err" >&2
    fail=1
    continue
  fi
  case "$name" in
    read-and-score)
      check "$name" "
import json, os
for d in ('logs', 'scored'):
    for log in ('conn', 'score', 'notice', 'dns', 'stats'):
        assert os.path.exists(f'{d}/{log}.log'), f'{d}/{log}.log missing'
assert os.path.exists('logs/flowmeter.log') and os.path.exists('logs/context.log')
assert os.path.getsize('model.json') > 0 and open('report.html').read(15).lower().startswith('<!doctype html')
conn = [json.loads(l) for l in open('scored/conn.log')]
score = [json.loads(l) for l in open('scored/score.log')]
assert len(conn) > 0 and {r['uid'] for r in score} <= {r['uid'] for r in conn}
notes = {json.loads(l)['note'] for l in open('scored/notice.log')}
want = {'ConnScope::Scan', 'ConnScope::Flood'} if $full else {'ConnScope::Scan'}
assert want <= notes, notes
" ;;
    pandas)
      check "$name" "
import csv
rows = list(csv.DictReader(open('top10.csv')))
assert 0 < len(rows) <= 10, len(rows)
s = [float(r['score']) for r in rows]
assert s == sorted(s, reverse=True), s
" ;;
    duckdb)
      check "$name" "
import csv, json, collections
conns = collections.Counter(json.loads(l)['id.orig_h'] for l in open('logs/conn.log'))
out = open('$work/duckdb.out').read()
top = conns.most_common(1)[0]
assert top[0] in out and str(top[1]) in out, (top, out[:500])
notices = list(csv.DictReader(open('notices.csv')))
assert len(notices) == sum(1 for _ in open('logs/notice.log'))
" ;;
    parquet)
      check "$name" "
import json, pyarrow.parquet as pq
rows = [json.loads(l) for l in open('logs/conn.log')]
for f in ('pq/conn.parquet', 'pq-converted/conn.parquet'):
    t = pq.read_table(f)
    assert t.num_rows == len(rows), (f, t.num_rows, len(rows))
    assert str(t.schema.field('ts').type) == 'timestamp[us, tz=UTC]', t.schema.field('ts').type
    assert sorted(t.column('uid').to_pylist()) == sorted(r['uid'] for r in rows)
out = open('$work/parquet.out').read()
assert 'timestamp[us, tz=UTC]' in out, out
" ;;
    tsv-columns)
      check "$name" "
import json, collections
# Independent path: the JSON conn.log of the same capture.
want = collections.Counter((r['id.orig_h'], r['id.resp_h'], r['conn_state'])
                           for r in map(json.loads, open('logs/conn.log')))
got = {}
for line in open('$work/tsv-columns.out'):
    n, o, r, s = line.split()
    got[(o, r, s)] = int(n)
assert got and all(want[k] == v for k, v in got.items()), (got, want.most_common(5))
assert max(got.values()) == want.most_common(1)[0][1]
" ;;
    filebeat-config)
      # What the zeek module's connection fileset renames (elastic/beats,
      # x-pack/filebeat/module/zeek/connection/config/connection.yml), with the
      # JSON type its ingest pipeline expects.
      check "$name" "
import json, os, re
cfg = open('filebeat/modules.d/zeek.yml').read()
paths = re.findall(r'var.paths: \[\"/var/log/connscope/(\w+\.log)\"\]', cfg)
assert paths == ['conn.log', 'dns.log', 'notice.log', 'weird.log'], paths
renamed = {'ts': (int, float), 'uid': str, 'id.orig_h': str, 'id.orig_p': int,
           'id.resp_h': str, 'id.resp_p': int, 'proto': str, 'orig_ip_bytes': int,
           'resp_ip_bytes': int, 'orig_pkts': int, 'resp_pkts': int, 'conn_state': str}
optional = {'duration': (int, float), 'service': str}
n = 0
for line in open('logs/conn.log'):
    r = json.loads(line)
    assert isinstance(r, dict)
    for k, t in renamed.items():
        assert isinstance(r.get(k), t) and not isinstance(r.get(k), bool), (k, r)
    for k, t in optional.items():
        assert k not in r or isinstance(r[k], t), (k, r)
    n += 1
assert n > 0
for log in ('dns', 'notice'):
    for line in open(f'logs/{log}.log'):
        r = json.loads(line)
        assert isinstance(r['ts'], (int, float)), r
" ;;
    zkg-install)
      check "$name" "
out = open('$work/zkg-install.out').read()
assert 'connscope' in out, out
import os
sd = 'zkg-state/script_dir/packages/connscope'
assert os.path.exists(os.path.join(sd, '__load__.zeek')), os.listdir('zkg-state/script_dir/packages')
" ;;
    rotation)
      check "$name" "
import glob, json
parts = sorted(glob.glob('spool/conn.*.log'))
assert len(parts) >= 1, parts
rows = sum(1 for p in parts for _ in open(p))
total = sum(1 for _ in open('logs/conn.log'))
assert rows == total, (rows, total)
" ;;
    *) echo "check-recipes: recipe $name has no output check" >&2; fail=1 ;;
  esac
done <"$work/recipes/ORDER"
[ "$fail" -eq 0 ] || { echo "check-recipes: FAILED" >&2; exit 1; }
echo "check-recipes: ok ($(wc -l <"$work/recipes/ORDER") recipes)"
