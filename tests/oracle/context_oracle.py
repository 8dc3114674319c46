#!/usr/bin/env python3
"""Independent oracle for connscope's context.log.

Usage:
    context_oracle.py CONN_LOG CONTEXT_LOG [options]   check one run
    context_oracle.py --run-all BINARY                 every capture, and -j 1 == -j 3

The context features are defined over connection records (docs/CONTEXT.md),
so this oracle takes the records from connscope's conn.log (JSON): uid, ts,
the 5-tuple, proto, conn_state, orig_ip_bytes and resp_ip_bytes. The one
value conn.log does not carry is the network time at which each connection
was logged; it is taken from context.log's `logged_at` and checked for
plausibility (never before the connection's last packet).

Everything else is recomputed here by brute force: the records are sorted
into the context order, and for every record the two windows are cut out as
plain lists and every feature is counted from scratch with list
comprehensions (connscope keeps incremental multiset counters instead).
Times are exact integers (nanoseconds, parsed from the JSON text with
Decimal). The per-host series are built by grouping all records by interval
first. The oracle then requires: one context.log row per conn.log uid, rows
in the context order, counts and times equal, doubles within 1e-9 relative
(an expected 0 must be exactly 0).

--run-all runs BINARY with --context on pcaps/*.pcap and
../shared/datasets/*/*.pcap, checks each with the above, and requires the
context.log of `-j 3` to be byte-identical to that of `-j 1`.

Exit status: 0 when everything matches, 1 on any mismatch, 2 on usage or
input errors. Standard library only.
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
from decimal import Decimal

NS = 1_000_000_000
SYN_ERRORS = {"S0", "RSTOS0", "SH"}
REJ_ERRORS = {"REJ"}

KDD_TIME = ["count", "srv_count", "serror_rate", "srv_serror_rate", "rerror_rate",
            "srv_rerror_rate", "same_srv_rate", "diff_srv_rate", "srv_diff_host_rate"]
KDD_HOST = ["dst_host_count", "dst_host_srv_count", "dst_host_same_srv_rate",
            "dst_host_diff_srv_rate", "dst_host_same_src_port_rate",
            "dst_host_srv_diff_host_rate", "dst_host_serror_rate",
            "dst_host_srv_serror_rate", "dst_host_rerror_rate", "dst_host_srv_rerror_rate"]
FANOUT = ["src_count", "src_distinct_dst_hosts", "src_distinct_dst_ports",
          "src_host_count", "src_host_distinct_dst_hosts", "src_host_distinct_dst_ports"]
SERIES = ["interval", "src_interval_conns", "src_interval_bytes",
          "src_prev_interval_conns", "src_prev_interval_bytes"]
COLUMNS = ["uid", "logged_at"] + KDD_TIME + KDD_HOST + FANOUT + SERIES
TIMES = {"logged_at", "interval"}
COUNTS = {"count", "srv_count", "dst_host_count", "dst_host_srv_count",
          "src_interval_conns", "src_interval_bytes", "src_prev_interval_conns",
          "src_prev_interval_bytes"} | set(FANOUT)


def to_ns(v):
    """An epoch-seconds JSON number (parsed as Decimal) to integer nanoseconds."""
    return int((Decimal(v) * NS).to_integral_value())


def read_json_lines(path):
    with open(path) as f:
        return [json.loads(line, parse_float=Decimal) for line in f if line.strip()]


class Conn:
    __slots__ = ("uid", "ts", "last", "orig_h", "orig_p", "resp_h", "resp_p", "proto",
                 "serror", "rerror", "bytes", "logged_at", "service")

    def __init__(self, r):
        self.uid = r["uid"]
        self.ts = to_ns(r["ts"])
        self.last = self.ts + to_ns(r.get("duration", 0))
        self.orig_h = r["id.orig_h"]
        self.orig_p = int(r["id.orig_p"])
        self.resp_h = r["id.resp_h"]
        self.resp_p = int(r["id.resp_p"])
        self.proto = r["proto"]
        state = r.get("conn_state", "")
        self.serror = self.proto == "tcp" and state in SYN_ERRORS
        self.rerror = self.proto == "tcp" and state in REJ_ERRORS
        self.bytes = int(r.get("orig_ip_bytes", 0)) + int(r.get("resp_ip_bytes", 0))
        if self.proto in ("tcp", "udp"):
            self.service = (self.proto, self.resp_p)
        elif self.proto == "icmp":
            self.service = (self.proto, self.orig_p)  # the ICMP type
        else:
            self.service = (self.proto, 0)
        self.logged_at = None


def frac(n, d):
    return 0.0 if d == 0 else n / d


def expected(conns, a):
    """Features of every record of `conns` (already in context order)."""
    out = []
    logged = [c.logged_at for c in conns]
    # Series: group by interval, then by host in order of first appearance.
    interval_of = [c.logged_at // a.interval for c in conns]
    tracked = {}  # interval -> set of tracked hosts
    totals = {}   # (interval, host) -> (conns, bytes) over the whole interval
    for c, k in zip(conns, interval_of):
        hosts = tracked.setdefault(k, [])
        if c.orig_h not in hosts and len(hosts) < a.max_hosts:
            hosts.append(c.orig_h)
    tracked = {k: set(v) for k, v in tracked.items()}
    for c, k in zip(conns, interval_of):
        if c.orig_h in tracked[k]:
            n, b = totals.get((k, c.orig_h), (0, 0))
            totals[(k, c.orig_h)] = (n + 1, b + c.bytes)
    running = {}
    for i, x in enumerate(conns):
        # Time window: earlier records logged at most `window` before x, the
        # last max_window of them.
        j = i
        while j > 0 and logged[i] - logged[j - 1] <= a.window:
            j -= 1
        tw = conns[max(j, i - a.max_window):i]
        hw = conns[max(0, i - a.host_window):i]
        f = {"uid": x.uid, "logged_at": x.logged_at}
        # Time-based.
        host = [c for c in tw if c.resp_h == x.resp_h]
        srv = [c for c in tw if c.service == x.service]
        f["count"] = len(host)
        f["srv_count"] = len(srv)
        f["serror_rate"] = frac(sum(c.serror for c in host), len(host))
        f["srv_serror_rate"] = frac(sum(c.serror for c in srv), len(srv))
        f["rerror_rate"] = frac(sum(c.rerror for c in host), len(host))
        f["srv_rerror_rate"] = frac(sum(c.rerror for c in srv), len(srv))
        f["same_srv_rate"] = frac(sum(c.service == x.service for c in host), len(host))
        f["diff_srv_rate"] = frac(sum(c.service != x.service for c in host), len(host))
        f["srv_diff_host_rate"] = frac(sum(c.resp_h != x.resp_h for c in srv), len(srv))
        # Host-based.
        host = [c for c in hw if c.resp_h == x.resp_h]
        srv = [c for c in hw if c.service == x.service]
        f["dst_host_count"] = len(host)
        f["dst_host_srv_count"] = len(srv)
        f["dst_host_same_srv_rate"] = frac(sum(c.service == x.service for c in host), len(host))
        f["dst_host_diff_srv_rate"] = frac(sum(c.service != x.service for c in host), len(host))
        f["dst_host_same_src_port_rate"] = frac(sum(c.orig_p == x.orig_p for c in srv), len(srv))
        f["dst_host_srv_diff_host_rate"] = frac(sum(c.resp_h != x.resp_h for c in srv), len(srv))
        f["dst_host_serror_rate"] = frac(sum(c.serror for c in host), len(host))
        f["dst_host_srv_serror_rate"] = frac(sum(c.serror for c in srv), len(srv))
        f["dst_host_rerror_rate"] = frac(sum(c.rerror for c in host), len(host))
        f["dst_host_srv_rerror_rate"] = frac(sum(c.rerror for c in srv), len(srv))
        # Fan-out.
        for prefix, w in (("src_", tw), ("src_host_", hw)):
            mine = [c for c in w if c.orig_h == x.orig_h]
            f[prefix + "count"] = len(mine)
            f[prefix + "distinct_dst_hosts"] = len({c.resp_h for c in mine})
            f[prefix + "distinct_dst_ports"] = len({c.service for c in mine})
        # Series.
        k = interval_of[i]
        f["interval"] = k * a.interval
        if x.orig_h in tracked[k]:
            n, b = running.get((k, x.orig_h), (0, 0))
            running[(k, x.orig_h)] = (n + 1, b + x.bytes)
            f["src_interval_conns"], f["src_interval_bytes"] = n + 1, b + x.bytes
        else:
            f["src_interval_conns"], f["src_interval_bytes"] = 0, 0
        pn, pb = totals.get((k - 1, x.orig_h), (0, 0))
        f["src_prev_interval_conns"], f["src_prev_interval_bytes"] = pn, pb
        out.append(f)
    return out


def check(conn_log, context_log, a, label=""):
    errors = []

    def err(msg):
        errors.append(msg)
        if a.verbose or len(errors) <= 20:
            print("%s%s" % (label, msg))

    conns = {}
    for r in read_json_lines(conn_log):
        if r["uid"] in conns:
            err("duplicate uid in conn.log: %s" % r["uid"])
        conns[r["uid"]] = Conn(r)
    rows = read_json_lines(context_log)
    got = {}
    for r in rows:
        u = r.get("uid")
        if u in got:
            err("duplicate uid in context.log: %s" % u)
        got[u] = r
        if list(r.keys()) != COLUMNS:
            err("%s: columns %s" % (u, list(r.keys())))
    if set(got) != set(conns):
        err("uids differ: %d only in conn.log, %d only in context.log"
            % (len(set(conns) - set(got)), len(set(got) - set(conns))))
        return errors
    for u, c in conns.items():
        c.logged_at = to_ns(got[u]["logged_at"])
        # logged_at is connscope's; it must not precede the last packet
        # (conn.log's ts + duration, rounded to microseconds).
        if c.logged_at < c.last - 1000:
            err("%s: logged_at %d before the last packet %d" % (u, c.logged_at, c.last))
    order = sorted(conns.values(), key=lambda c: (c.logged_at, c.ts, c.uid))
    for p, q in zip(order, order[1:]):
        if (p.logged_at, p.ts, p.uid) == (q.logged_at, q.ts, q.uid):
            err("ambiguous order: %s and %s" % (p.uid, q.uid))
    if [c.uid for c in order] != [r["uid"] for r in rows]:
        err("context.log rows are not in the context order (logged_at, ts, uid)")
    for f in expected(order, a):
        r = got[f["uid"]]
        for k in COLUMNS[1:]:
            want, have = f[k], r.get(k)
            if have is None:
                err("%s %s: missing" % (f["uid"], k))
            elif k in TIMES:
                if to_ns(have) != want:
                    err("%s %s: %s != %d ns" % (f["uid"], k, have, want))
            elif k in COUNTS:
                if not isinstance(have, int) or have != want:
                    err("%s %s: %r != %r" % (f["uid"], k, have, want))
            else:
                h = float(have)
                if not isinstance(have, Decimal) or abs(h - want) > 1e-9 * max(abs(h), abs(want)):
                    err("%s %s: %r != %r" % (f["uid"], k, have, want))
    print("%s%d connections, %d mismatches" % (label, len(conns), len(errors)))
    return errors


def run_all(exe, a):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    shared = os.environ.get("CONNSCOPE_SHARED", os.path.join(root, "..", "shared"))
    pcaps = sorted(glob.glob(os.path.join(root, "pcaps", "*.pcap")))
    pcaps += sorted(glob.glob(os.path.join(shared, "datasets", "*", "*.pcap")))
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, pcap in enumerate(pcaps):
            outs = []
            for j in (1, 3):
                out = os.path.join(tmp, "%d-j%d" % (i, j))
                os.mkdir(out)
                # A damaged capture ends with an error after writing the
                # records before the damage; those are still checked.
                subprocess.run([exe, "read", "-r", pcap, "-w", out, "--context", "-q",
                                "-j", str(j)], stderr=subprocess.DEVNULL)
                outs.append(out)
            ctx = [os.path.join(o, "context.log") for o in outs]
            if not all(os.path.exists(p) for p in ctx):
                print("context oracle: %s: no context.log" % pcap)
                failed.append(pcap)
                continue
            label = os.path.basename(pcap) + ": "
            bad = check(os.path.join(outs[0], "conn.log"), ctx[0], a, label)
            with open(ctx[0], "rb") as f1, open(ctx[1], "rb") as f3:
                if f1.read() != f3.read():
                    print("%scontext.log differs between -j 1 and -j 3" % label)
                    bad = bad + ["-j"]
            if bad:
                failed.append(pcap)
    print("context oracle: %d capture(s), %d with mismatches%s"
          % (len(pcaps), len(failed), (": " + ", ".join(failed)) if failed else ""))
    return 1 if failed else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("conn_log", nargs="?")
    p.add_argument("context_log", nargs="?")
    p.add_argument("--run-all", metavar="BINARY")
    p.add_argument("--window", type=float, default=2.0, help="time window, seconds")
    p.add_argument("--host-window", type=int, default=100)
    p.add_argument("--max-window", type=int, default=1 << 16)
    p.add_argument("--interval", type=int, default=60, help="series interval, seconds")
    p.add_argument("--max-hosts", type=int, default=1 << 20)
    p.add_argument("-v", "--verbose", action="store_true")
    a = p.parse_args()
    a.window = to_ns(Decimal(str(a.window)))
    a.interval = a.interval * NS
    if a.run_all:
        return run_all(a.run_all, a)
    if not (a.conn_log and a.context_log):
        p.print_usage()
        return 2
    return 1 if check(a.conn_log, a.context_log, a) else 0


if __name__ == "__main__":
    sys.exit(main())
