#!/usr/bin/env python3
"""Checks the Zeek package's record types against the logs connscope writes.

Usage: check_schema.py CONNSCOPE_BINARY [REPO_ROOT]

Runs in the venv made by scripts/ensure-deps.sh (needs `zeekscript`, and
`mmdb_writer` for the run with --geoip-db). Steps:

1. Writes a small capture (gen_schema_pcap.py) and runs connscope on it with
   TSV output and every log on (--flowmeter --context --train-seconds 20, so
   flowmeter.log, context.log, score.log and notice.log are written), then a
   second time with a GeoIP database (built here with the PyPI mmdb-writer),
   which adds notice.log's remote_location.* columns.
2. Parses every script of zeek-scripts/scripts with zeekscript's tree-sitter
   grammar and extracts the record types.
3. Flattens each record the way Zeek's logging framework and ASCII input
   reader do (nested records as `outer.inner`; log records: only `&log`
   fields; `field_name_map` renames applied) and maps script types to the
   names Zeek's ASCII writer prints in #types (enums as `enum`, `vector of T`
   as `vector[T]`, ...).
4. Requires the flattened names and types to equal the #fields/#types
   header connscope wrote, in order, for:
     ConnScope::FlowmeterInfo = flowmeter.log
     ConnScope::ContextInfo   = context.log (renamed by context_field_names)
     ConnScope::ScoreInfo     = score.log
     ConnScope::NoticeLine    = notice.log (with --geoip-db; without it the
                                same minus the remote_location.* columns)
   and the ConnScope::* notice types in main.zeek to equal connscope's
   NoticeType names (src/record.rs), in order.

Exit status 0 when everything matches; 1 with every difference printed.
"""

import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import gen_schema_pcap  # noqa: E402

# Zeek base types the package's records use, with their logged fields.
EXTERNAL_RECORDS = {
    "conn_id": [("orig_h", "addr", True), ("orig_p", "port", True),
                ("resp_h", "addr", True), ("resp_p", "port", True)],
    "geo_location": [("country_code", "string", True), ("region", "string", True),
                     ("city", "string", True), ("latitude", "double", True),
                     ("longitude", "double", True)],
}
ENUMS = {"transport_proto", "Notice::Type", "Notice::Action"}
ATOMIC = {"count", "int", "double", "time", "interval", "string", "addr", "port", "bool", "subnet"}


def parse_scripts(script_dir):
    """Record types {name: [(field, type_text, has_log)]}, context renames,
    notice type names and parse errors of every script."""
    import zeekscript

    records, renames, notices, errors = {}, {}, [], []
    for fn in sorted(os.listdir(script_dir)):
        if not fn.endswith(".zeek"):
            continue
        path = os.path.join(script_dir, fn)
        s = zeekscript.Script(path)
        if not s.parse() or s.has_error():
            errors.append("%s: %s" % (fn, s.get_error()))
            continue
        text = open(path).read()
        module = ""
        m = re.search(r"^module\s+(\w+)\s*;", text, re.M)
        if m:
            module = m.group(1)
        walk(s.ts_tree.root_node, module, records)
        m = re.search(r"const context_field_names[^=]*=\s*\{(.*?)\}", text, re.S)
        if m:
            renames.update(re.findall(r'\["(\w+)"\]\s*=\s*"(\w+)"', m.group(1)))
        m = re.search(r"redef enum Notice::Type \+= \{(.*?)\}", text, re.S)
        if m:
            body = re.sub(r"##[^\n]*", "", m.group(1))
            notices += ["%s::%s" % (module, n) for n in re.findall(r"(\w+)\s*,", body)]
    return records, renames, notices, errors


def walk(node, module, records):
    if node.type == "type_decl":
        ids = [c for c in node.children if c.type == "id"]
        types = [c for c in node.children if c.type == "type" and c.is_named]
        if ids and types and types[0].children and types[0].children[0].type == "record":
            name = ids[0].text.decode()
            fields = []
            for spec in types[0].children:
                if spec.type != "type_spec":
                    continue
                fid = [c for c in spec.children if c.type == "id"][0].text.decode()
                ftype = " ".join([c for c in spec.children if c.type == "type" and c.is_named][0].text.decode().split())
                attrs = "".join(c.text.decode() for c in spec.children if c.type == "attr_list")
                fields.append((fid, ftype, "&log" in attrs))
            records[name] = fields
            if module:
                records["%s::%s" % (module, name)] = fields
        return
    for c in node.children:
        walk(c, module, records)


def log_type(t, records):
    t = t.strip()
    m = re.fullmatch(r"set\[(.+)\]", t)
    if m:
        return "set[%s]" % log_type(m.group(1), records)
    m = re.fullmatch(r"vector of (.+)", t)
    if m:
        return "vector[%s]" % log_type(m.group(1), records)
    if t in ENUMS:
        return "enum"
    if t in ATOMIC:
        return t
    raise ValueError("no log type for %r" % t)


def flatten(name, records, only_log, prefix=""):
    fields = records.get(name)
    if fields is None:
        fields = EXTERNAL_RECORDS[name]
    out = []
    for fid, ftype, has_log in fields:
        if only_log and not has_log:
            continue
        if ftype in records or ftype in EXTERNAL_RECORDS:
            out += flatten(ftype, records, only_log, prefix + fid + ".")
        else:
            out.append((prefix + fid, log_type(ftype, records)))
    return out


def header(path):
    names = types = None
    with open(path) as f:
        for line in f:
            if line.startswith("#fields\t"):
                names = line.rstrip("\n").split("\t")[1:]
            elif line.startswith("#types\t"):
                types = line.rstrip("\n").split("\t")[1:]
    if names is None or types is None:
        raise ValueError("%s has no #fields/#types header" % path)
    return list(zip(names, types))


def compare(what, want, got):
    """Differences between the script's columns and the log's, as text."""
    if want == got:
        return []
    out = ["%s: script record and log header differ" % what]
    for i in range(max(len(want), len(got))):
        w = want[i] if i < len(want) else None
        g = got[i] if i < len(got) else None
        if w != g:
            out.append("  column %d: script %s, log %s" % (i + 1, w, g))
    return out


def write_geo_db(path):
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    w = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-City")
    w.insert_network(IPSet(["10.0.0.0/8"]), {
        "country": {"iso_code": "ZZ"},
        "city": {"names": {"en": "Testville"}},
        "subdivisions": [{"iso_code": "TS"}],
        "location": {"latitude": 1.5, "longitude": -2.25},
    })
    w.to_db_file(path)


def run_connscope(exe, pcap, out, extra):
    os.mkdir(out)
    cmd = [exe, "read", "-r", pcap, "-w", out, "-q", "--format", "tsv", "--flowmeter",
           "--context", "--train-seconds", "20", "--no-private-local"] + extra
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), r.returncode, r.stderr))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    exe = sys.argv[1]
    root = sys.argv[2] if len(sys.argv) > 2 else os.path.dirname(os.path.dirname(HERE))
    records, renames, notices, errors = parse_scripts(os.path.join(root, "zeek-scripts", "scripts"))
    problems = list(errors)

    with tempfile.TemporaryDirectory() as tmp:
        pcap = os.path.join(tmp, "schema.pcap")
        with open(pcap, "wb") as f:
            f.write(gen_schema_pcap.capture_bytes())
        plain = os.path.join(tmp, "plain")
        run_connscope(exe, pcap, plain, [])
        geo_db = os.path.join(tmp, "city.mmdb")
        write_geo_db(geo_db)
        geo = os.path.join(tmp, "geo")
        run_connscope(exe, pcap, geo, ["--geoip-db", geo_db])

        checks = [
            ("ConnScope::FlowmeterInfo", "flowmeter.log", plain, True),
            ("ConnScope::ContextInfo", "context.log", plain, True),
            ("ConnScope::ScoreInfo", "score.log", plain, True),
            ("ConnScope::NoticeLine", "notice.log", geo, False),
        ]
        for rec, log, d, only_log in checks:
            if rec not in records:
                problems.append("%s: not defined in zeek-scripts/scripts" % rec)
                continue
            want = flatten(rec, records, only_log)
            if rec == "ConnScope::ContextInfo":
                want = [(renames.get(n, n), t) for n, t in want]
            got = header(os.path.join(d, log))
            problems += compare("%s vs %s" % (rec, log), want, got)
            print("check_schema: %s: %d columns compared with %s" % (rec, len(want), log))
            if rec == "ConnScope::NoticeLine":
                plain_want = [c for c in want if not c[0].startswith("remote_location.")]
                problems += compare("%s vs notice.log without --geoip-db" % rec, plain_want,
                                    header(os.path.join(plain, log)))
                rows = [l for l in open(os.path.join(geo, log)) if not l.startswith("#")]
                if not rows or "\tZZ\tTS\tTestville\t1.500000\t-2.250000" not in rows[0]:
                    problems.append("notice.log with --geoip-db: no remote_location for the scanner: %r" % rows[:1])

    src = open(os.path.join(root, "src", "record.rs")).read()
    want_notes = re.findall(r'NoticeType::\w+ => "(ConnScope::\w+)"', src)
    if notices != want_notes:
        problems.append("notice types: main.zeek %s, src/record.rs %s" % (notices, want_notes))
    else:
        print("check_schema: %d ConnScope::* notice types match src/record.rs" % len(notices))

    for p in problems:
        print(p)
    print("check_schema: %s" % ("FAILED" if problems else "ok"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
